"""Chaos and load-testing harness for a concert ticketing stack.

An experiment (YAML) names a stack, a load profile, a fault timeline and SLOs; the
harness brings the stack up, drives traffic with Locust, injects faults through a
Toxiproxy-compatible API, grades the run against the SLOs and writes reports.
"""

__version__ = "0.1.0"
