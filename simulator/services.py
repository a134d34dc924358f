"""The per-app bundle of injected collaborators, kept in `app.extensions`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from flask import current_app

from simulator.clock import Clock
from simulator.config import SimConfig
from simulator.store import Store

if TYPE_CHECKING:
    from faker import Faker

    from simulator.delivery import DeliveryEngine
    from simulator.platforms.analyser import Analyser

EXTENSION_KEY = "postback_sim"


@dataclass
class Services:
    """What views and domain functions need; one instance per app, none global."""

    config: SimConfig
    store: Store
    clock: Clock
    faker: Faker
    delivery: DeliveryEngine
    analyser: Analyser


def services() -> Services:
    """The current app's services (inside a request or app context)."""
    return current_app.extensions[EXTENSION_KEY]
