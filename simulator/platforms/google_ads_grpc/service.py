"""ConversionUploadService.UploadClickConversions and
ConversionAdjustmentUploadService.UploadConversionAdjustments over gRPC, answered by the REST
mock's logic.

The request is decoded with the subset's messages and read as its proto3 JSON, which is exactly
the REST body (`google_ads_upload.handle`, `google_ads_adjust.handle`): the same auth checks, row
errors, attribution and journal (api `grpc-upload` for uploads, `adjust` for adjustments, as over
REST). The answer goes back the way the real API sends it [official: Google Ads API
"Partial failures" and "Handle errors"]:
- rows that failed: `partial_failure_error` (google.rpc.Status, code 3) whose details hold a
  GoogleAdsFailure packed as Any, with `{}` results for the failed rows;
- the whole request failed: a gRPC status whose trailing metadata carries the GoogleAdsFailure
  under `google.ads.googleads.<version>.errors.googleadsfailure-bin` (what the client library's
  exception interceptor reads) and as `grpc-status-details-bin` (google.rpc.Status), plus
  `request-id`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import grpc
from flask import Flask
from google.protobuf import json_format
from google.protobuf.message import DecodeError

from simulator.platforms import (
    faults,
    google_ads_adjust,
    google_ads_upload,
    google_errors,
    journal,
)
from simulator.platforms.google_ads_grpc import messages
from simulator.platforms.google_answer import Outcome
from simulator.services import EXTENSION_KEY, Services

METHOD = re.compile(r"/google\.ads\.googleads\.(v\d+)\.services\.(\w+/\w+)")


@dataclass(frozen=True)
class Method:
    """One served RPC: its messages (names in the subset), the REST logic, the journal's api."""

    request: str
    response: str
    handle: Callable[..., Outcome]
    api: str


METHODS = {
    "ConversionUploadService/UploadClickConversions": Method(
        "UploadClickConversionsRequest", "UploadClickConversionsResponse",
        google_ads_upload.handle, "grpc-upload"),
    "ConversionAdjustmentUploadService/UploadConversionAdjustments": Method(
        "UploadConversionAdjustmentsRequest", "UploadConversionAdjustmentsResponse",
        google_ads_adjust.handle, "adjust"),
}


def grpc_code(http_status: int) -> grpc.StatusCode:
    """The gRPC code behind an HTTP status, as Google's front end maps them
    [official: google/rpc/code.proto HTTP mappings]."""
    name = google_errors.status_name(http_status)
    return getattr(grpc.StatusCode, name, grpc.StatusCode.UNKNOWN)


def _packed_failure(version: str, failure: dict[str, Any]) -> tuple[bytes, Any]:
    """(GoogleAdsFailure bytes, the same packed in an Any) from its JSON form."""
    proto = json_format.ParseDict({k: v for k, v in failure.items() if k != "@type"},
                                  messages.failure_class()(), ignore_unknown_fields=True)
    raw = proto.SerializeToString()
    packed = messages.message("google.protobuf.Any")(
        type_url=messages.failure_type_url(version), value=raw)
    return raw, packed


def response_bytes(version: str, body: dict[str, Any],
                   response_name: str = "UploadClickConversionsResponse") -> bytes:
    """A 200's JSON body (results, partialFailureError, jobId) as the method's response."""
    response = messages.message(f"{messages.PACKAGE}.services.{response_name}")()
    json_format.ParseDict({k: v for k, v in body.items() if k != "partialFailureError"},
                          response, ignore_unknown_fields=True)
    partial = body.get("partialFailureError")
    if partial:
        response.partial_failure_error.code = partial["code"]
        response.partial_failure_error.message = partial["message"]
        for detail in partial.get("details", []):
            response.partial_failure_error.details.append(_packed_failure(version, detail)[1])
    return response.SerializeToString()


def error_trailers(version: str, error: dict[str, Any],
                   retry_after: float | None = None) -> list[tuple[str, Any]]:
    """Trailing metadata for a failed call from its REST `{"error": ...}` form."""
    status = messages.status_class()(code=grpc_code(error["code"]).value[0],
                                     message=error["message"])
    trailers: list[tuple[str, Any]] = []
    for detail in error.get("details", []):
        if str(detail.get("@type", "")).endswith(".errors.GoogleAdsFailure"):
            raw, packed = _packed_failure(version, detail)
            trailers.append((f"google.ads.googleads.{version}.errors.googleadsfailure-bin", raw))
            trailers.append(("request-id", str(detail.get("requestId", ""))))
            status.details.append(packed)
    if retry_after:
        info = messages.retry_info_class()()
        info.retry_delay.FromNanoseconds(int(retry_after * 1e9))
        packed = messages.message("google.protobuf.Any")()
        packed.Pack(info)
        status.details.append(packed)
    trailers.append(("grpc-status-details-bin", status.SerializeToString()))
    return trailers


class UploadService(grpc.GenericRpcHandler):
    """Routes every version's METHODS to `upload`; other methods are UNIMPLEMENTED, as a method
    the server does not serve."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def service(self, handler_call_details: grpc.HandlerCallDetails) -> Any:
        match = METHOD.fullmatch(handler_call_details.method)
        if not match or match.group(2) not in METHODS:
            return None
        version, method = match.group(1), METHODS[match.group(2)]
        return grpc.unary_unary_rpc_method_handler(
            lambda request, context: self.upload(version, request, context, method))

    def upload(self, version: str, request: bytes, context: grpc.ServicerContext,
               method: Method) -> bytes:
        svc: Services = self.app.extensions[EXTENSION_KEY]
        call = Call(svc, version, context, request, method)
        return call.answer()


class Call:
    """One call of a served method: decode, play a fault or handle, journal, answer."""

    def __init__(self, svc: Services, version: str, context: grpc.ServicerContext,
                 request: bytes, method: Method) -> None:
        self.svc = svc
        self.version = version
        self.context = context
        self.request = request
        self.method = method
        name = next(k for k, v in METHODS.items() if v is method)
        self.path = f"/google.ads.googleads.{version}.services.{name}"
        # Binary (-bin) metadata is bytes; the journal keeps the text entries, as HTTP headers.
        self.metadata = {k: v for k, v in context.invocation_metadata() if isinstance(v, str)}
        self.body = ""
        self.fault: str | None = None
        self.refusal: tuple[grpc.StatusCode, str, list[tuple[str, Any]]] | None = None

    def record(self, status: int, response: Any, **outcome: Any) -> None:
        journal.record(
            self.svc.store, self.svc.clock, platform="google_ads", api=self.method.api,
            method="POST",
            path=self.path, query={}, headers=self.metadata, body=self.body, status=status,
            response=response, fault=outcome.pop("fault", self.fault), **outcome,
        )

    def fail(self, status: int, body: dict[str, Any], retry_after: float | None = None,
             **outcome: Any) -> bytes:
        """Journal a failed call; `answer` ends it with the gRPC status behind `status` once
        out of the store's transaction (an abort raises, which would roll the journal back)."""
        self.record(status, body, **outcome)
        error = body["error"]
        self.refusal = (grpc_code(status), error["message"],
                        error_trailers(self.version, error, retry_after))
        return b""

    def answer(self) -> bytes:
        answer = self.decide()
        if self.refusal is not None:
            code, message, trailers = self.refusal
            self.context.set_trailing_metadata(trailers)
            self.context.abort(code, message)
        return answer

    def decide(self) -> bytes:
        try:
            decoded = messages.message(
                f"{messages.PACKAGE}.services.{self.method.request}").FromString(self.request)
        except DecodeError as exc:
            self.body = self.request.hex()
            return self.fail(400, google_errors.rpc_error(400, f"Invalid request: {exc}"),
                             findings=[{"code": "INVALID_PROTOBUF", "field": None,
                                        "message": str(exc)}])
        self.body = json.dumps(json_format.MessageToDict(decoded), ensure_ascii=False)
        played = self.play_fault()
        if played is not None:
            return played
        # One transaction, as the REST view: two uploads cannot both consume one order ID.
        with self.svc.store.transaction():
            return self.handle(decoded.customer_id)

    def play_fault(self) -> bytes | None:
        """The REST mock's faults in gRPC terms: a delay, a dropped connection (UNAVAILABLE,
        what a client sees when the peer resets), or a status with RetryInfo for Retry-After."""
        fault = faults.take(self.svc.store, "google_ads")
        if fault is None:
            return None
        self.fault = faults.describe(fault)
        if fault["kind"] == "delay":
            faults.enact_delay(fault)
            return None
        if fault["kind"] == "reset":
            self.record(0, {"text": "connection reset"})
            self.refusal = (grpc.StatusCode.UNAVAILABLE, "Connection reset by peer", [])
            return b""
        status = int(fault["status"] or 500)
        return self.fail(status, google_errors.fault_body(status, fault["retry_after"]),
                         retry_after=fault["retry_after"])

    def handle(self, customer_id: str) -> bytes:
        signed_in = google_ads_upload.check_auth(self.metadata, self.version, "") is None
        if signed_in and not (customer_id.isascii() and customer_id.isdigit()):
            error = google_errors.ads_error("requestError", "INVALID_CUSTOMER_ID",
                                            "Customer ID is invalid.", [("customer_id", None)])
            body = google_errors.ads_request_error(400, self.version, [error],
                                                   google_errors.request_id())
            return self.fail(400, body, findings=[{"code": "INVALID_CUSTOMER_ID",
                                                   "field": "customer_id",
                                                   "message": "Customer ID is invalid."}])
        outcome = self.method.handle(
            self.svc.store, self.svc.config, self.svc.clock.time(), version=self.version,
            customer_id=customer_id, headers=self.metadata, body_text=self.body,
        )
        journaled = {"events": outcome.events, "findings": outcome.findings,
                     "accepted": outcome.accepted}
        if outcome.status != 200:
            return self.fail(outcome.status, outcome.body, **journaled)
        self.record(outcome.status, outcome.body, **journaled)
        return response_bytes(self.version, outcome.body, self.method.response)

