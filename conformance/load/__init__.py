"""Load tests on Locust: fire the profile's postbacks at volume and judge loss, doubling and
latency against the simulator's journal (`postback-sim load`).

Only `locustfile.py` imports Locust (and with it gevent's monkey-patching), and it runs in
Locust's own process; everything here is plain Python the CLI and tests import freely.
"""

from conformance.load.engine import LoadOptions, run_load, run_worker
from conformance.load.faults import FaultSpec, parse_fault
from conformance.load.verdict import LoadReport

__all__ = ["FaultSpec", "LoadOptions", "LoadReport", "parse_fault", "run_load", "run_worker"]
