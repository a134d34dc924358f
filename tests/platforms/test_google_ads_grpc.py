"""The Google Ads gRPC mock, driven by Google's official `google-ads` client through its public API
only: client config (endpoint, developer token, key file) plus environment (the trusted
certificate, Application Default Credentials)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc
import pytest
import requests
from google.ads.googleads.client import GoogleAdsClient
from google.ads.googleads.errors import GoogleAdsException
from google.api_core import exceptions as core_exceptions
from google.auth.transport.requests import Request
from google.oauth2.credentials import Credentials
from google.rpc.error_details_pb2 import RetryInfo

from simulator import create_app, testing_config
from simulator.app import shutdown
from simulator.platforms import google_ads_grpc, google_credentials
from simulator.platforms.google_ads_grpc import certificate, server
from simulator.server import BackgroundServer

CUSTOMER = "1234567890"
ACTION = f"customers/{CUSTOMER}/conversionActions/987654321"


class _AnyTime(str):
    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and other.endswith("+00:00")

    __hash__ = str.__hash__


ANY_TIME = _AnyTime("yyyy-mm-dd hh:mm:ss+00:00")


def library_versions() -> list[str]:
    """The API versions this google-ads release ships (its vNN subpackages)."""
    import google.ads.googleads as package

    return sorted(p.name for p in Path(package.__file__).parent.iterdir()
                  if p.is_dir() and p.name[1:].isdigit() and p.name.startswith("v"))


@dataclass
class Mock:
    url: str
    endpoint: str
    plaintext: str
    credentials: google_credentials.CredentialFiles

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        response = requests.request(method, f"{self.url}/api{path}", timeout=10, **kwargs)
        assert response.status_code < 300, response.text
        return response.json()

    def gclid(self, hours_ago: float = 8) -> str:
        return self.api("POST", "/ad-clicks", json={"platform": "google",
                                                    "ago_seconds": hours_ago * 3600})["click_id"]

    def last_entry(self) -> dict[str, Any]:
        return self.api("GET", "/journal", params={"platform": "google_ads"})["items"][-1]

    def client(self, version: str | None = None, **config: Any) -> GoogleAdsClient:
        settings = {"developer_token": "test-developer-token", "endpoint": self.endpoint,
                    "json_key_file_path": str(self.credentials.service_account),
                    "use_proto_plus": True, **config}
        return GoogleAdsClient.load_from_dict(settings, version=version)


@pytest.fixture(scope="module")
def mock(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mock]:
    app = create_app(testing_config(google_check_too_recent=True))
    # One certificate for every in-process simulator: gRPC reads its default roots once.
    cert_dir = certificate.state_dir(":memory:")
    with BackgroundServer(app) as web, pytest.MonkeyPatch.context() as env:
        running = server.start(app, cert_dir=cert_dir, plaintext_port=0)
        env.setenv("GRPC_DEFAULT_SSL_ROOTS_FILE_PATH", str(running.cert_path))
        files = google_credentials.write(tmp_path_factory.mktemp("credentials"), web.url)
        yield Mock(web.url, running.endpoint, f"127.0.0.1:{running.plaintext_port}", files)
        running.stop()
    shutdown(app)


def conversion(client: GoogleAdsClient, gclid: str, when: datetime | None = None,
               order_id: str = "") -> Any:
    row = client.get_type("ClickConversion")
    row.gclid = gclid
    row.conversion_action = ACTION
    row.conversion_date_time = (when or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M:%S+00:00")
    row.conversion_value = 12.5
    row.currency_code = "EUR"
    if order_id:
        row.order_id = order_id
    return row


def call(client: GoogleAdsClient, service: str, method: str, rows_field: str, rows: tuple,
         partial_failure: bool = True) -> Any:
    """One Upload* call through the library: its request type, rows and partial_failure."""
    request = client.get_type("".join(w.title() for w in method.split("_")) + "Request")
    request.customer_id = CUSTOMER
    getattr(request, rows_field).extend(rows)
    request.partial_failure = partial_failure
    return getattr(client.get_service(service), method)(request=request, timeout=10)


def upload(client: GoogleAdsClient, *rows: Any, partial_failure: bool = True) -> Any:
    return call(client, "ConversionUploadService", "upload_click_conversions", "conversions",
                rows, partial_failure)


def row_errors(client: GoogleAdsClient, response: Any) -> list[tuple[str, str]]:
    """(error name, field path) of each row error, decoded as Google's partial-failure example
    does: GoogleAdsFailure from the client's own types."""
    failure_type = type(client.get_type("GoogleAdsFailure"))
    found = []
    for detail in response.partial_failure_error.details:
        failure = failure_type.deserialize(detail.value)
        for error in failure.errors:
            path = ".".join(f"{e.field_name}[{e.index}]" if "index" in e else e.field_name
                            for e in error.location.field_path_elements)
            found.append((error.error_code.conversion_upload_error.name, path))
    return found


@pytest.mark.parametrize("version", library_versions())
def test_every_version_the_library_ships_uploads_and_is_journaled_as_grpc(
    mock: Mock, version: str
) -> None:
    gclid = mock.gclid()
    client = mock.client(version)

    response = upload(client, conversion(client, gclid, order_id=f"order-{version}"))

    assert response.results[0].gclid == gclid
    assert response.results[0].conversion_action == ACTION
    assert not response.partial_failure_error.code
    entry = mock.last_entry()
    assert entry["api"] == "grpc-upload"
    assert entry["path"] == (f"/google.ads.googleads.{version}.services."
                             "ConversionUploadService/UploadClickConversions")
    assert entry["accepted"] is True
    assert entry["status"] == 200
    assert entry["events"][0]["attribution"]["status"] == "matched"
    assert entry["events"][0]["event_id"] == f"order-{version}"
    assert entry["events"][0]["currency"] == "EUR"
    # The inspector shows the request decoded as JSON, secrets masked as over REST.
    assert json.loads(entry["body"])["conversions"][0]["gclid"] == gclid
    assert entry["headers"]["authorization"].endswith("…")
    assert "ya29" not in json.dumps(entry["headers"])


@pytest.mark.parametrize(("name", "mangle", "hours_ago", "convert_hours_ago"), [
    ("EVENT_NOT_FOUND", str.swapcase, 8, 0),
    ("EXPIRED_EVENT", None, 95 * 24, 0),
    ("CONVERSION_PRECEDES_EVENT", None, 8, 9),
    ("TOO_RECENT_EVENT", None, 1, 0),
], ids=["case-mangled gclid", "expired", "before the click", "too recent"])
def test_row_errors_come_back_as_a_partial_failure_the_library_decodes(
    mock: Mock, name: str, mangle: Any, hours_ago: float, convert_hours_ago: float
) -> None:
    gclid = mock.gclid(hours_ago)
    client = mock.client()
    when = datetime.fromtimestamp(datetime.now(UTC).timestamp() - convert_hours_ago * 3600, UTC)

    response = upload(client, conversion(client, mangle(gclid) if mangle else gclid, when))

    assert response.partial_failure_error.code == 3
    expected_field = "conversion_date_time" if name == "CONVERSION_PRECEDES_EVENT" else "gclid"
    assert row_errors(client, response) == [(name, f"conversions[0].{expected_field}")]
    assert not response.results[0].gclid  # `{}` for the failed row
    assert mock.last_entry()["events"][0]["findings"][0]["code"] == name


def test_partial_failure_off_raises_google_ads_exception_with_the_failure(mock: Mock) -> None:
    client = mock.client()

    with pytest.raises(GoogleAdsException) as raised:
        upload(client, conversion(client, mock.gclid()), partial_failure=False)

    assert raised.value.error.code() == grpc.StatusCode.INVALID_ARGUMENT
    error = raised.value.failure.errors[0]
    assert error.error_code.partial_failure_error.name == "PARTIAL_FAILURE_MODE_REQUIRED"
    assert raised.value.request_id
    assert mock.last_entry()["status"] == 400


def test_a_second_upload_of_one_order_id_is_refused_across_transports(mock: Mock) -> None:
    gclid = mock.gclid()
    rest = requests.post(
        f"{mock.url}/google-ads/v23/customers/{CUSTOMER}:uploadClickConversions",
        json={"conversions": [{"gclid": gclid, "conversionAction": ACTION, "orderId": "shared-1",
                               "conversionDateTime": datetime.now(UTC).strftime(
                                   "%Y-%m-%d %H:%M:%S+00:00")}],
              "partialFailure": True},
        headers={"Authorization": "Bearer t", "developer-token": "d"}, timeout=10)
    assert rest.json()["results"][0]["gclid"] == gclid
    client = mock.client()

    response = upload(client, conversion(client, gclid, order_id="shared-1"))

    assert row_errors(client, response) == [("ORDER_ID_ALREADY_IN_USE",
                                             "conversions[0].order_id")]


def raw_upload(mock: Mock, metadata: tuple[tuple[str, str], ...]) -> grpc.RpcError:
    """A call without the library (plaintext port), to send what the library never would."""
    with grpc.insecure_channel(mock.plaintext) as channel:
        call = channel.unary_unary(
            "/google.ads.googleads.v26.services.ConversionUploadService/UploadClickConversions")
        with pytest.raises(grpc.RpcError) as raised:
            call(b"", metadata=metadata, timeout=10)
    return raised.value


@pytest.mark.parametrize(("metadata", "code", "kind", "name"), [
    ((), grpc.StatusCode.UNAUTHENTICATED, "authentication_error", "AUTHENTICATION_ERROR"),
    ((("authorization", "Bearer t"),), grpc.StatusCode.INVALID_ARGUMENT, "request_error",
     "DEVELOPER_TOKEN_PARAMETER_MISSING"),
], ids=["no token", "no developer token"])
def test_auth_errors_carry_a_google_ads_failure_in_the_trailers(
    mock: Mock, metadata: tuple[tuple[str, str], ...], code: grpc.StatusCode, kind: str, name: str
) -> None:
    error = raw_upload(mock, metadata)

    assert error.code() == code
    failure_type = type(mock.client().get_type("GoogleAdsFailure"))
    trailers = dict(error.trailing_metadata())
    failure = failure_type.deserialize(
        trailers["google.ads.googleads.v26.errors.googleadsfailure-bin"])
    assert getattr(failure.errors[0].error_code, kind).name == name
    assert trailers["request-id"]


def test_a_429_fault_reaches_the_library_with_retry_info(mock: Mock) -> None:
    mock.api("POST", "/faults", json={"platform": "google_ads", "kind": "status",
                                      "status": 429, "retry_after": 2})
    client = mock.client()

    with pytest.raises(core_exceptions.ResourceExhausted) as raised:
        upload(client, conversion(client, mock.gclid()))

    delays = [d.retry_delay.seconds for d in raised.value.details if isinstance(d, RetryInfo)]
    assert delays == [2]
    assert mock.last_entry()["fault"] == "status 429 Retry-After 2"


def test_a_reset_fault_is_unavailable_and_a_delay_fault_still_answers(mock: Mock) -> None:
    client = mock.client()
    mock.api("POST", "/faults", json={"platform": "google_ads", "kind": "reset"})
    with pytest.raises(core_exceptions.ServiceUnavailable):
        upload(client, conversion(client, mock.gclid()))
    assert mock.last_entry()["fault"] == "connection reset"

    mock.api("POST", "/faults", json={"platform": "google_ads", "kind": "delay", "delay": 0.1})
    response = upload(client, conversion(client, mock.gclid()))
    assert response.results[0].gclid
    assert mock.last_entry()["fault"] == "delay 0.1s"


def test_application_default_credentials_from_the_key_file_authenticate(
    mock: Mock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(mock.credentials.service_account))
    client = GoogleAdsClient.load_from_dict({
        "developer_token": "test-developer-token", "endpoint": mock.endpoint,
        "use_application_default_credentials": True, "use_proto_plus": True})

    response = upload(client, conversion(client, mock.gclid()))

    assert response.results[0].gclid
    assert client.credentials.token.startswith("ya29.")


def test_the_authorized_user_file_refreshes_at_its_token_uri(mock: Mock) -> None:
    # google-auth for Python ignores token_uri in authorized_user files (it always uses
    # oauth2.googleapis.com: googleapis/google-auth-library-python#1062), so the file is read
    # here as clients that honour it do.
    info = json.loads(mock.credentials.authorized_user.read_text(encoding="utf-8"))
    credentials = Credentials(None, refresh_token=info["refresh_token"],
                              client_id=info["client_id"], client_secret=info["client_secret"],
                              token_uri=info["token_uri"])

    credentials.refresh(Request())

    assert info["token_uri"] == f"{mock.url}/oauth2/token"
    assert credentials.token.startswith("ya29.")


def test_grpc_info_names_the_endpoint_and_certificate(mock: Mock) -> None:
    info = mock.api("GET", "/grpc")

    assert info["serving"] is True
    assert info["endpoint"] == mock.endpoint
    assert Path(info["cert_path"]).read_text(encoding="ascii").startswith("-----BEGIN CERT")
    assert info["token_uri"].endswith("/oauth2/token")


def test_the_inspector_shows_a_grpc_request_decoded_as_json(mock: Mock) -> None:
    gclid = mock.gclid()
    client = mock.client()
    upload(client, conversion(client, gclid, order_id="inspected-1"))
    entry_id = mock.last_entry()["id"]

    shown = requests.get(f"{mock.url}/ui/api/inspector/{entry_id}", timeout=10).json()

    assert shown["api"] == "grpc-upload"
    assert json.loads(shown["body"])["conversions"][0] == {
        "gclid": gclid, "conversionAction": ACTION, "conversionDateTime": ANY_TIME,
        "conversionValue": 12.5, "currencyCode": "EUR", "orderId": "inspected-1"}


def test_without_the_grpc_extra_serve_gets_a_one_line_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(google_ads_grpc, "find_spec", lambda name: None)

    assert google_ads_grpc.missing() == google_ads_grpc.HINT
    assert "pip install 'postback-sim[grpc]'" in google_ads_grpc.HINT


def adjust(client: GoogleAdsClient, order_id: str, kind: str = "RETRACTION") -> Any:
    row = client.get_type("ConversionAdjustment")
    row.conversion_action = ACTION
    row.order_id = order_id
    row.adjustment_type = client.enums.ConversionAdjustmentTypeEnum[kind]
    row.adjustment_date_time = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S+00:00")
    return call(client, "ConversionAdjustmentUploadService", "upload_conversion_adjustments",
                "conversion_adjustments", (row,))


def adjustment_errors(client: GoogleAdsClient, response: Any) -> list[tuple[str, str]]:
    failure_type = type(client.get_type("GoogleAdsFailure"))
    return [(error.error_code.conversion_adjustment_upload_error.name,
             ".".join(f"{e.field_name}[{e.index}]" if "index" in e else e.field_name
                      for e in error.location.field_path_elements))
            for detail in response.partial_failure_error.details
            for error in failure_type.deserialize(detail.value).errors]


@pytest.mark.parametrize("version", library_versions())
def test_every_version_retracts_an_uploaded_conversion_journaled_as_adjust(
    mock: Mock, version: str
) -> None:
    client = mock.client(version)
    a_day_ago = datetime.fromtimestamp(datetime.now(UTC).timestamp() - 30 * 3600, UTC)
    upload(client, conversion(client, mock.gclid(40), a_day_ago, order_id=f"retract-{version}"))

    response = adjust(client, f"retract-{version}")

    assert not response.partial_failure_error.code
    assert response.results[0].order_id == f"retract-{version}"
    assert response.results[0].adjustment_type.name == "RETRACTION"
    entry = mock.last_entry()
    assert entry["api"] == "adjust"
    assert entry["path"] == (f"/google.ads.googleads.{version}.services."
                             "ConversionAdjustmentUploadService/UploadConversionAdjustments")
    assert (entry["status"], entry["accepted"]) == (200, True)
    assert entry["events"][0]["event_id"] == f"retract-{version}"
    assert json.loads(entry["body"])["conversionAdjustments"][0]["adjustmentType"] == "RETRACTION"


def test_adjustment_row_errors_come_back_as_a_partial_failure_the_library_decodes(
    mock: Mock,
) -> None:
    client = mock.client()
    upload(client, conversion(client, mock.gclid(), order_id="too-fresh"))
    a_day_ago = datetime.fromtimestamp(datetime.now(UTC).timestamp() - 30 * 3600, UTC)
    upload(client, conversion(client, mock.gclid(40), a_day_ago, order_id="twice"))
    adjust(client, "twice")

    for order_id, name in [("never-uploaded", "CONVERSION_NOT_FOUND"),
                           ("too-fresh", "TOO_RECENT_CONVERSION"),
                           ("twice", "CONVERSION_ALREADY_RETRACTED")]:
        response = adjust(client, order_id)
        assert response.partial_failure_error.code == 3, order_id
        assert adjustment_errors(client, response) == [
            (name, "conversion_adjustments[0].order_id")]
        assert not response.results[0].order_id  # `{}` for the failed row
