"""The application factory: wires config, store, clock, HTTP client and blueprints."""

from __future__ import annotations

import logging
from importlib import import_module
from typing import Any

from faker import Faker
from flask import Flask

from simulator.clock import Clock, SystemClock
from simulator.config import SimConfig
from simulator.delivery import DeliveryEngine
from simulator.errors import register_error_handlers
from simulator.http_client import AiohttpClient, HttpClient
from simulator.json_provider import JsonProvider
from simulator.platforms import http_errors as platform_errors
from simulator.platforms.analyser import Analyser
from simulator.services import EXTENSION_KEY, Services
from simulator.store import Store

# One blueprint per concern; each module exposes `bp`.
BLUEPRINTS = (
    "simulator.network.api",
    "simulator.network.tracking",
    "simulator.platforms.api",
    "simulator.platforms.meta",
    "simulator.platforms.tiktok",
    "simulator.platforms.google_ads",
    "simulator.platforms.datamanager",
    "simulator.platforms.oauth",
    "simulator.platforms.grpc_info",
    "simulator.openapi",
    "simulator.dashboard.views",
)


def create_app(
    config: SimConfig | dict[str, Any] | None = None,
    *,
    clock: Clock | None = None,
    http_client: HttpClient | None = None,
) -> Flask:
    """Build a simulator app; every collaborator is injectable, nothing is global."""
    cfg = config if isinstance(config, SimConfig) else SimConfig.from_mapping(config)
    app = Flask(__name__.split(".")[0])
    app.json = JsonProvider(app)
    app.config["MAX_CONTENT_LENGTH"] = cfg.max_request_bytes

    clock = clock or SystemClock()
    store = Store(cfg.db_path)
    faker = Faker()
    if cfg.faker_seed is not None:
        faker.seed_instance(cfg.faker_seed)
    engine = DeliveryEngine(store, clock, http_client or AiohttpClient(), cfg)
    analyser = Analyser(store, cfg)
    app.extensions[EXTENSION_KEY] = Services(
        config=cfg, store=store, clock=clock, faker=faker, delivery=engine, analyser=analyser
    )

    register_error_handlers(app)
    platform_errors.install(app)
    for name in BLUEPRINTS:
        app.register_blueprint(import_module(name).bp)

    from simulator.network.offers import ensure_demo_offer

    if cfg.seed_demo_offer:
        ensure_demo_offer(store, clock)
    if cfg.start_workers:
        if cfg.delivery_engine:
            engine.start()
        analyser.start()
    logging.getLogger("simulator").setLevel(logging.INFO)
    return app


def shutdown(app: Flask) -> None:
    """Stop the delivery workers and close the database; pending work stays in SQLite."""
    svc: Services = app.extensions[EXTENSION_KEY]
    svc.delivery.stop()
    close = getattr(svc.delivery.http_client, "close", None)
    if callable(close):
        close()  # the client's private loop, if a synchronous send (`run_due`) started it
    svc.analyser.stop()
    svc.store.close()
