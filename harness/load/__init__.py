"""Load: Locust user journeys and load shapes, the per-second recorder, and reading it back.

- `config` and `profile`: the load profile (host, closed-model stages or open-model
  arrivals, the mix of fans, think time, timeout, seed), frozen and typed;
- `schedule`: when the open model's journeys start and which kind of fan each one is;
- `runner`: runs Locust in a process of its own, bounded in time;
- `locustfile`, `journeys` and `arrivals`: the fans' journeys, the users and the load
  shape of both models, and the arrival queue of the open model (inside Locust only);
- `hooks` and `recorder`: per-second stats from Locust's request and journey events;
- `outcomes`: one word per request outcome;
- `stats`: the stats file format and the windows the grader reads.

Only `locustfile`, `journeys`, `arrivals` and `hooks` import Locust (which monkey-patches
its process with gevent); nothing else imports them, so the harness can import this
package freely.
"""
