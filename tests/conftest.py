"""Shared fixtures, after the Flask tutorial: an app per test, its client, a live server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from flask import Flask
from flask.testing import FlaskClient

from simulator import create_app, testing_config
from simulator.app import shutdown
from simulator.server import BackgroundServer
from simulator.services import EXTENSION_KEY, Services


@pytest.fixture
def app() -> Iterator[Flask]:
    """A fresh in-memory simulator with fast retries; delivery workers running."""
    application = create_app(testing_config())
    yield application
    shutdown(application)


@pytest.fixture
def services(app: Flask) -> Services:
    return app.extensions[EXTENSION_KEY]


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def live_server(app: Flask) -> Iterator[BackgroundServer]:
    """The app on a real socket at 127.0.0.1 with a free port."""
    with BackgroundServer(app) as server:
        yield server


@pytest.fixture
def reference_profile(tmp_path: Path, live_server: BackgroundServer) -> Iterator[Path]:
    """The bundled reference receiver, started against the live server, and its profile file."""
    from conformance.paths import receiver_path
    from conformance.receiver_process import ReceiverProcess, profile_for, receiver_env

    process = ReceiverProcess(receiver_path("reference"), receiver_env(live_server.url))
    profile = tmp_path / "receiver.yaml"
    profile.write_text(yaml.safe_dump(profile_for(process.start(), settle_seconds=0.3).to_dict()),
                       encoding="utf-8")
    yield profile
    process.stop()
