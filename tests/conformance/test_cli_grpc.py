"""The gRPC side of the `postback-sim` command: `cert`, `google-credentials`, `serve`'s gRPC mock,
and a receiver on the official google-ads client passing the Google scenarios under `run`."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
import requests
import yaml
from click.testing import CliRunner, Result

from conformance.cli import main
from conformance.paths import receiver_path
from conformance.receiver_process import (
    ReceiverProcess,
    default_platforms,
    profile_for,
    receiver_env,
)
from simulator.platforms import google_credentials
from simulator.platforms.google_ads_grpc import certificate

ROOT = Path(__file__).resolve().parents[2]
START_S = 30.0
UPLOAD = "/google.ads.googleads.v23.services.ConversionUploadService/UploadClickConversions"


def invoke(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for sock in sockets:
        sock.close()
    return ports


def test_cert_prints_the_certificate_kept_beside_the_database(tmp_path: Path) -> None:
    first = invoke("cert", "--db", str(tmp_path / "sim.db"))
    second = invoke("cert", "--db", str(tmp_path / "sim.db"))

    path = Path(first.output.strip())
    assert first.exit_code == 0, first.output
    assert path == tmp_path / certificate.CERT_NAME
    assert path.read_text(encoding="ascii").startswith("-----BEGIN CERTIFICATE-----")
    assert second.output == first.output  # made once, then kept


def test_google_credentials_point_their_token_uri_at_the_simulator(tmp_path: Path) -> None:
    result = invoke("google-credentials", "--out", str(tmp_path / "creds"),
                    "--sim-url", "http://127.0.0.1:8123")

    assert result.exit_code == 0, result.output
    key = json.loads((tmp_path / "creds" / "service-account.json").read_text(encoding="utf-8"))
    user = json.loads((tmp_path / "creds" / "authorized-user.json").read_text(encoding="utf-8"))
    assert key["type"] == "service_account"
    assert key["private_key"].startswith("-----BEGIN PRIVATE KEY-----")
    assert user["type"] == "authorized_user"
    assert key["token_uri"] == user["token_uri"] == "http://127.0.0.1:8123/oauth2/token"
    assert "json_key_file_path" in result.output


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], list[int]]]:
    ports = free_ports(3)
    proc = subprocess.Popen(
        [sys.executable, "-m", "conformance.cli", "serve", "--port", str(ports[0]),
         "--db", str(tmp_path / "sim.db"), "--grpc-port", str(ports[1]),
         "--grpc-plaintext-port", str(ports[2])],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + START_S
    while True:
        assert proc.poll() is None, proc.communicate()
        try:
            requests.get(f"http://127.0.0.1:{ports[0]}/api/grpc", timeout=2)
            break
        except requests.ConnectionError:
            assert time.monotonic() < deadline, "serve did not start listening"
            time.sleep(0.1)
    try:
        yield proc, ports
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate(timeout=START_S)


def test_serve_serves_the_grpc_mock_with_its_certificate_and_a_plaintext_port(
    tmp_path: Path, served: tuple[subprocess.Popen[str], list[int]]
) -> None:
    proc, (http, tls, plain) = served
    info = requests.get(f"http://127.0.0.1:{http}/api/grpc", timeout=10).json()
    cert = tmp_path / certificate.CERT_NAME
    with grpc.secure_channel(f"127.0.0.1:{tls}", grpc.ssl_channel_credentials(
            cert.read_bytes())) as secure, grpc.insecure_channel(f"127.0.0.1:{plain}") as clear:
        codes = []
        for channel in (secure, clear):
            with pytest.raises(grpc.RpcError) as raised:
                channel.unary_unary(UPLOAD)(b"", timeout=10)
            codes.append(raised.value.code())

    os.killpg(proc.pid, signal.SIGINT)
    stdout, _ = proc.communicate(timeout=START_S)
    assert info["endpoint"] == f"127.0.0.1:{tls}"
    assert info["plaintext_endpoint"] == f"127.0.0.1:{plain}"
    assert codes == [grpc.StatusCode.UNAUTHENTICATED] * 2  # no token: refused like the API
    assert f"cert       {cert}" in stdout
    assert proc.returncode == 0


def run_google_scenarios(tmp_path: Path, receiver: str) -> Result:
    """`postback-sim run` (its own in-process simulator) against a google-ads receiver configured
    as a user would: the library's env, a key file from `google-credentials`, the certificate
    from `cert`."""
    http, tls = free_ports(2)
    sim_url = f"http://127.0.0.1:{http}"
    files = google_credentials.write(tmp_path / "creds", sim_url)
    cert = invoke("cert", "--db", ":memory:").output.strip()
    env = {**receiver_env(sim_url), "GOOGLE_ADS_ENDPOINT": f"127.0.0.1:{tls}",
           "GRPC_DEFAULT_SSL_ROOTS_FILE_PATH": cert,
           "GOOGLE_ADS_JSON_KEY_FILE_PATH": str(files.service_account),
           "GOOGLE_ADS_DEVELOPER_TOKEN": "test-developer-token",
           "GOOGLE_ADS_USE_PROTO_PLUS": "true"}
    with ReceiverProcess(receiver_path(receiver), env) as process:
        profile = profile_for(process.url or "", {"google_ads": default_platforms()["google_ads"]},
                              settle_seconds=0.3)
        path = tmp_path / "receiver.yaml"
        path.write_text(yaml.safe_dump(profile.to_dict()), encoding="utf-8")
        return invoke("run", "--profile", str(path), "--port", str(http),
                      "--grpc-port", str(tls), "--tag", "google-ads",
                      "--json", str(tmp_path / "report.json"))


@pytest.mark.slow
def test_the_google_ads_receiver_passes_under_run(tmp_path: Path) -> None:
    result = run_google_scenarios(tmp_path, "sdk/google_ads_sdk")

    assert result.exit_code == 0, result.output
    assert "PASS  google-ads-happy-path" in result.output
    assert "PASS  google-ads-redelivery" in result.output
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert "GADS-004" not in {f["rule"] for s in report["scenarios"] for f in s["findings"]}


@pytest.mark.slow
def test_its_twin_without_order_id_fails_the_right_scenario_under_run(tmp_path: Path) -> None:
    result = run_google_scenarios(tmp_path, "faulty/google_ads_sdk_no_order_id")

    assert result.exit_code == 1, result.output
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    by_id = {s["id"]: s for s in report["scenarios"]}
    # Both sales are stamped with the upload time: the earlier one is an hour off.
    stamped = by_id["two-conversions-one-click"]
    assert stamped["status"] == "failed"
    assert "GADS-003" in {f["rule"] for f in stamped["findings"]}
    assert by_id["google-ads-happy-path"]["status"] == "passed"
    assert "GADS-004" in {f["rule"] for s in report["scenarios"] for f in s["findings"]}
