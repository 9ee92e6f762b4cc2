"""Load: Locust user journeys and load shapes, the per-second recorder, and reading it back.

- `config`: the load profile (host, stages, think time, timeout, seed), frozen and typed;
- `runner`: runs Locust in a process of its own, bounded in time;
- `locustfile`: the concert release journey and the stage shape (inside Locust only);
- `hooks` and `recorder`: per-second stats from Locust's request events;
- `outcomes`: one word per request outcome;
- `stats`: the stats file format and the windows the grader reads.

Only `locustfile` and `hooks` import Locust (which monkey-patches its process with
gevent); nothing here imports them, so the harness can import this package freely.
"""
