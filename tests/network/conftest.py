"""Network API fixtures: an app whose delivery workers are off, so queued postbacks stay put."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from simulator import create_app, testing_config
from simulator.app import shutdown


@pytest.fixture
def app() -> Iterator[Flask]:
    """In-memory simulator without delivery workers: deliveries stay pending for inspection."""
    application = create_app(testing_config(start_workers=False))
    yield application
    shutdown(application)


@pytest.fixture
def api(client: FlaskClient) -> Any:
    """Call the JSON API and assert the expected status in one line."""

    def call(method: str, path: str, expect: int = 200, **kwargs: Any) -> Any:
        resp = client.open(path, method=method, **kwargs)
        assert resp.status_code == expect, resp.get_data(as_text=True)
        return resp.get_json()

    return call


@pytest.fixture
def click(api: Any) -> dict[str, Any]:
    """A click on demo offer 1 with sub1=abc."""
    return api("POST", "/api/clicks", 201, json={"sub1": "abc", "sub2": "facebook"})
