"""The reference booking service: the system under test of the chaos harness.

Run it as ``python -m booking init-db ...`` and ``python -m booking serve ...``;
see the README beside this package for the API, settings and schema.
"""

__version__ = "0.1.0"
