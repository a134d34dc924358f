"""The tracking link, `GET /click`: record the click, redirect to the landing page with its ID.

Like a real network: the visitor's IP comes from `X-Forwarded-For` (first hop) or the peer, the
user agent from its header, the country from the CDN's `CF-IPCountry` (or `X-Country`) header or
the configured default; query parameters `ip`, `ua` and `country` override them for scripted
clicks. Unknown parameters are ignored, as ad platforms append their own (fbclid, gclid, ...).
"""

from __future__ import annotations

from ipaddress import ip_address
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from flask import Blueprint, redirect, request
from flask.typing import ResponseReturnValue

from simulator.errors import ApiError
from simulator.macros import SUB_IDS
from simulator.network.clicks import ClickInput, record_click
from simulator.network.offers import check_landing_url
from simulator.network.validation import integer, text
from simulator.services import services

bp = Blueprint("tracking", __name__)

CLICK_ID_PARAM = "transaction_id"


def landing_url(url: str, unique_click_id: str) -> str:
    """The offer's landing URL with `transaction_id` merged into its query."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if k != CLICK_ID_PARAM]
    query.append((CLICK_ID_PARAM, unique_click_id))
    return urlunsplit(parts._replace(query=urlencode(query)))


def _valid_ip(value: str | None) -> str | None:
    try:
        return str(ip_address((value or "").strip()))
    except ValueError:
        return None


def visitor_ip() -> str:
    override = request.args.get("ip")
    if override is not None:
        ip = _valid_ip(override)
        if ip is None:
            raise ApiError(f"ip: {override!r} is not an IPv4 or IPv6 address", field="ip")
        return ip
    forwarded = request.headers.get("X-Forwarded-For", "").split(",")[0]
    return _valid_ip(forwarded) or request.remote_addr or "127.0.0.1"


def visitor_country(default: str) -> str:
    override = request.args.get("country")
    if override is not None:
        if len(override) != 2 or not override.isalpha():
            raise ApiError(f"country: {override!r} is not a two-letter country code",
                           field="country")
        return override.upper()
    for header in ("CF-IPCountry", "X-Country"):
        value = request.headers.get(header, "").strip()
        if len(value) == 2 and value.isalnum():
            return value.upper()
    return default


@bp.get("/click")
def click() -> ResponseReturnValue:
    svc = services()
    raw_offer = request.args.get("offer_id")
    if raw_offer is None:
        raise ApiError("offer_id: required (e.g. /click?offer_id=1&sub1=...)", field="offer_id")
    offer_id = integer(1)("offer_id", raw_offer)
    subs = {name: text(1000)(name, request.args[name]) for name in SUB_IDS
            if name in request.args}
    ua = request.args.get("ua") or request.headers.get("User-Agent") or "unknown"
    row = record_click(
        svc.store, svc.clock, svc.faker,
        ClickInput(
            offer_id=offer_id,
            subs=subs,
            ip=visitor_ip(),
            user_agent=text(2000)("ua", ua),
            country=visitor_country(svc.config.default_country),
        ),
    )
    offer = svc.store.get("offers", offer_id) or {}
    # An offer stored before its URL was checked this strictly answers 409, not a 500.
    target = check_landing_url(landing_url(offer["landing_url"], row["unique_click_id"]), 409)
    response = redirect(target, code=302)
    response.headers["Cache-Control"] = "no-store"
    return response
