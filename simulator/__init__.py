"""postback-sim's simulator: the partner network and the mock ad platforms as one Flask app."""

from simulator.app import create_app
from simulator.config import SimConfig, testing_config

__all__ = ["SimConfig", "create_app", "testing_config"]
