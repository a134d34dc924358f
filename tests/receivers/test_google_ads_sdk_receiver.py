"""The google-ads receivers as programs: a postback becomes an UploadClickConversions call over
gRPC, with orderId from the reference receiver, and without it from the faulty twin."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import urlencode

import pytest
import requests

from conformance.grpc_mock import client_library_env, start_beside
from conformance.paths import receiver_path
from conformance.receiver_process import ReceiverProcess, receiver_env
from simulator import create_app, testing_config
from simulator.app import shutdown
from simulator.server import BackgroundServer


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    app = create_app(testing_config())
    with ExitStack() as stack, BackgroundServer(app) as web:
        start_beside(app, 0, None, stack)
        env = {**receiver_env(web.url),
               **client_library_env(web.url, tmp_path_factory.mktemp("creds"))}
        yield web.url, env
    shutdown(app)


@pytest.mark.parametrize(("receiver", "order_id"), [
    ("sdk/google_ads_sdk", "txn-1"), ("faulty/google_ads_sdk_no_order_id", None),
], ids=["reference on google-ads", "faulty twin"])
def test_a_google_postback_is_uploaded_over_grpc(sim: tuple[str, dict[str, str]], receiver: str,
                                                 order_id: str | None) -> None:
    url, env = sim
    gclid = requests.post(f"{url}/api/ad-clicks", json={"platform": "google",
                                                        "ago_seconds": 8 * 3600},
                          timeout=10).json()["click_id"]
    query = urlencode({"click_id": gclid, "source": "google", "payout": "12.5",
                       "currency": "USD", "txn": "txn-1", "ts": str(int(time.time()))})
    with ReceiverProcess(receiver_path(receiver), env) as process:
        answer = requests.get(f"{process.url}/postback?{query}", timeout=30)

    entry = requests.get(f"{url}/api/journal", timeout=10).json()["items"][-1]
    assert answer.status_code == 200
    assert entry["api"] == "grpc-upload"
    sent = json.loads(entry["body"])["conversions"][0]
    assert sent["gclid"] == gclid
    assert sent.get("orderId") == order_id
    assert Path(env["GOOGLE_ADS_JSON_KEY_FILE_PATH"]).is_file()
