"""Mock Google Ads API: `POST /google-ads/v{NN}/customers/{cid}:uploadClickConversions` and
`:uploadConversionAdjustments` (`google_ads_adjust`, journaled with api `adjust`).

Mirrors https://googleads.googleapis.com/v{NN}/customers/{cid}:uploadClickConversions (any version)
[official: conversion_upload_service.proto; platform-rules.md section 4]. The view reads, plays
any armed fault, hands the request to `google_ads_upload`, and journals the answer.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from flask import Blueprint, Response, request

from simulator.platforms import google_ads_adjust, google_ads_upload, google_errors, intake
from simulator.platforms.google_answer import Outcome
from simulator.services import services

bp = Blueprint("google_ads", __name__, url_prefix="/google-ads")

VERSION = re.compile(r"v\d+")


@bp.post("/<version>/customers/<customer_id>:uploadClickConversions")
def upload_click_conversions(version: str, customer_id: str) -> Response:
    """Answer like ConversionUploadService.UploadClickConversions."""
    return _serve(version, customer_id, "upload", google_ads_upload.handle)


@bp.post("/<version>/customers/<customer_id>:uploadConversionAdjustments")
def upload_conversion_adjustments(version: str, customer_id: str) -> Response:
    """Answer like ConversionAdjustmentUploadService.UploadConversionAdjustments."""
    return _serve(version, customer_id, "adjust", google_ads_adjust.handle)


def _serve(version: str, customer_id: str, api: str, handle: Callable[..., Outcome]) -> Response:
    svc = services()
    got = intake.read(request, platform="google_ads", api=api)
    if not VERSION.fullmatch(version) or not (customer_id.isascii() and customer_id.isdigit()):
        # Google's front end: an unknown version or a customer ID with dashes routes nowhere.
        return intake.respond(svc, got, 404, google_errors.rpc_error(
            404, f"The requested URL {request.path} was not found on this server."))
    faulted = intake.play_fault(svc, got, google_errors.fault_body)
    if faulted is not None:
        return faulted
    # One transaction: two concurrent uploads cannot both consume the same order ID.
    with svc.store.transaction():
        outcome = handle(
            svc.store, svc.config, svc.clock.time(),
            version=version, customer_id=customer_id, headers=got.headers, body_text=got.body,
        )
        # An adjustment is no new conversion: it stays out of the dedup index (keys=[]).
        return intake.respond(svc, got, outcome.status, outcome.body, events=outcome.events,
                              findings=outcome.findings, accepted=outcome.accepted,
                              keys=[] if api == "adjust" else None)
