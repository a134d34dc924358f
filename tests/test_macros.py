"""The macro catalogue, macro values and expansion, including real HTTP round trips."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, unquote

import pytest

from simulator.http_client import AiohttpClient
from simulator.macros import (
    MACRO_NAMES,
    MACROS,
    body_content_type,
    expand,
    expand_body,
    format_payout,
    macro_values,
)
from simulator.server import BackgroundServer

SEED_CATALOGUE = {
    "sub1": "Sub ID 1 from the partner tracking URL",
    "sub2": "Sub ID 2 from the partner tracking URL",
    "sub3": "Sub ID 3 from the partner tracking URL",
    "sub4": "Sub ID 4 from the partner tracking URL",
    "sub5": "Sub ID 5 from the partner tracking URL",
    "offer_currency": "Currency of the offer (e.g. USD, GBP, EUR)",
    "payout_amount": "Amount paid out to the partner for an event (conversion or post-conversion)",
    "conversion_id": "Unique ID associated to the conversion",
    "unique_click_id": "Unique ID associated to the transaction",
    "timestamp": "Unix timestamp of an event (UTC)",
    "datetime": "Date and time of an event formatted as YYYY-MM-DD HH:MM:SS (UTC)",
    "geo_country_code": "Two-letter country code (ISO 3166-1 alpha-2)",
    "user_ip": "IP address of the user (conversion)",
    "user_agent": "User-agent string of the device",
}

EVENT_TIME = datetime(2026, 11, 1, 12, 30, 45, tzinfo=UTC)
UA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Safari/604.1"

CLICK = {
    "unique_click_id": "c-7f3a9e",
    "sub1": "IwAR2xYz_fbclid-value",
    "sub2": "facebook",
    "sub3": "",
    "sub4": "",
    "sub5": "",
    "country": "GB",
    "ip": "198.51.100.7",
    "user_agent": "click-time UA",
}
CONVERSION = {
    "conversion_id": "conv-000123",
    "payout": 12.5,
    "currency": "GBP",
    "ip": "2001:db8::1",
    "user_agent": UA,
    "created_at": "2026-11-01T12:30:45.900000Z",
    "ts": EVENT_TIME.timestamp() + 0.9,
}
OFFER = {"currency": "USD", "payout": 10.0}


class QueryRecorder:
    """A receiver that records each request's path and parsed query string."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        raw_query = environ.get("QUERY_STRING", "")
        with self._lock:
            self.seen.append(
                {
                    "path": environ["PATH_INFO"],
                    "raw_uri": environ.get("RAW_URI", ""),
                    "raw_query": raw_query,
                    "query": parse_qs(raw_query, keep_blank_values=True),
                }
            )
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[QueryRecorder, str]]:
    app = QueryRecorder()
    with BackgroundServer(app) as running:
        yield app, running.url


@pytest.fixture
def recorder(server: tuple[QueryRecorder, str]) -> tuple[QueryRecorder, str]:
    """The module's receiver, with what earlier tests sent forgotten."""
    server[0].seen.clear()
    return server


@pytest.fixture
def fetch() -> Iterator[Callable[[str], None]]:
    """GET a URL with the postback client, which must deliver it byte for byte."""
    client = AiohttpClient()

    def get(url: str) -> None:
        result = client.send("GET", url, timeout=5)
        assert result.status == 200, result.error

    yield get
    client.close()


# -- catalogue -------------------------------------------------------------------------------


def test_catalogue_is_exactly_the_seed_macros_with_their_descriptions() -> None:
    assert {m.name: m.description for m in MACROS} == SEED_CATALOGUE
    assert list(MACRO_NAMES) == list(SEED_CATALOGUE)
    assert MACROS[0].placeholder == "{sub1}"


# -- values ----------------------------------------------------------------------------------


def test_macro_values_take_each_field_from_the_right_row() -> None:
    assert macro_values(CONVERSION, CLICK, OFFER) == {
        "sub1": "IwAR2xYz_fbclid-value",
        "sub2": "facebook",
        "sub3": "",
        "sub4": "",
        "sub5": "",
        "offer_currency": "GBP",
        "payout_amount": "12.5",
        "conversion_id": "conv-000123",
        "unique_click_id": "c-7f3a9e",
        "timestamp": str(int(EVENT_TIME.timestamp())),
        "datetime": "2026-11-01 12:30:45",
        "geo_country_code": "GB",
        "user_ip": "2001:db8::1",
        "user_agent": UA,
    }


def test_timestamp_and_datetime_describe_the_same_whole_second() -> None:
    values = macro_values(CONVERSION, CLICK)
    shown = datetime.strptime(values["datetime"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    assert int(values["timestamp"]) == int(shown.timestamp())


def test_timestamp_falls_back_to_created_at_when_ts_is_missing() -> None:
    conversion = {**CONVERSION, "ts": None}
    assert macro_values(conversion, CLICK)["timestamp"] == str(int(EVENT_TIME.timestamp()))


def test_currency_falls_back_to_the_offer_when_the_conversion_has_none() -> None:
    assert macro_values({**CONVERSION, "currency": ""}, CLICK, OFFER)["offer_currency"] == "USD"


def test_missing_sub_ids_become_empty_strings() -> None:
    click = {k: v for k, v in CLICK.items() if k not in ("sub4", "sub5")} | {"sub3": None}
    values = macro_values(CONVERSION, click)
    assert (values["sub3"], values["sub4"], values["sub5"]) == ("", "", "")


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (12.5, "12.5"),
        (10.0, "10"),
        (0.1 + 0.2, "0.3"),
        (19.999999999999996, "20"),
        (0, "0"),
        (1234.5678, "1234.5678"),
        (0.0025, "0.0025"),
        (-3.5, "-3.5"),
        ("7.10", "7.1"),
        (1e7, "10000000"),
        (None, "0"),
    ],
    ids=[
        "half", "whole-float", "float-noise", "float-noise-up", "zero", "four-decimals",
        "sub-cent", "negative", "string", "large", "none",
    ],
)
def test_payout_is_plain_decimal_text_without_float_noise(amount: Any, text: str) -> None:
    assert format_payout(amount) == text


# -- expansion -------------------------------------------------------------------------------


def test_expand_fills_known_macros_and_leaves_unknown_ones() -> None:
    url = expand("https://r.example/pb?c={sub1}&x={nope}&p={payout_amount}", {"sub1": "a",
                 "payout_amount": "1.5"})
    assert url == "https://r.example/pb?c=a&x={nope}&p=1.5"


def test_an_empty_sub_id_expands_to_an_empty_string() -> None:
    assert expand("https://r.example/pb?c={sub3}&s=1", {"sub3": ""}) == "https://r.example/pb?c=&s=1"


def test_expand_url_encodes_reserved_characters() -> None:
    assert expand("https://r/?v={sub1}", {"sub1": "a b&c=d#e+f%g/h?i"}) == (
        "https://r/?v=a%20b%26c%3Dd%23e%2Bf%25g%2Fh%3Fi"
    )


ROUND_TRIP_VALUES = [
    "plain123",
    "two words",
    "a&b=c",
    "hash#tag",
    "1+1=2",
    "100%",
    "path/with/slashes",
    "what?",
    "café Zürich",
    "日本語",
    "emoji 🎉",
    "fb.1.1712248396123.IwAR0_x-y.z~",
    "quote\"s and 'apostrophes'",
    "{sub2}",
    "line\nbreak",
    "",
]
ROUND_TRIP_IDS = [
    "plain", "space", "ampersand-equals", "hash", "plus", "percent", "slash", "question",
    "latin1", "cjk", "emoji", "fbc-like", "quotes", "macro-lookalike", "newline", "empty",
]


@pytest.mark.parametrize("value", ROUND_TRIP_VALUES, ids=ROUND_TRIP_IDS)
def test_expanded_values_survive_the_round_trip_into_the_receivers_query(
    recorder: tuple[QueryRecorder, str], fetch: Callable[[str], None], value: str
) -> None:
    app, base = recorder
    values = macro_values(CONVERSION, {**CLICK, "sub1": value, "sub2": "facebook"})
    fetch(expand(base + "/postback?click_id={sub1}&source={sub2}&ua={user_agent}", values))
    assert app.seen[0]["query"] == {"click_id": [value], "source": ["facebook"], "ua": [UA]}


def test_every_macro_round_trips_through_a_real_receiver(
    recorder: tuple[QueryRecorder, str], fetch: Callable[[str], None],
) -> None:
    app, base = recorder
    values = macro_values(CONVERSION, {**CLICK, "sub3": "summer launch & more"}, OFFER)
    template = base + "/pb?" + "&".join(f"{name}={{{name}}}" for name in MACRO_NAMES)
    fetch(expand(template, values))
    assert app.seen[0]["query"] == {name: [value] for name, value in values.items()}


def test_a_macro_in_the_path_arrives_as_one_segment(
    recorder: tuple[QueryRecorder, str], fetch: Callable[[str], None],
) -> None:
    app, base = recorder
    fetch(expand(base + "/pb/{sub1}/done", {"sub1": "a/b c"}))
    segments = app.seen[0]["raw_uri"].split("/")
    assert segments[1:] == ["pb", "a%2Fb%20c", "done"]
    assert unquote(segments[2]) == "a/b c"


# -- POST bodies -----------------------------------------------------------------------------


def test_form_body_carries_every_macro_url_encoded() -> None:
    values = macro_values(CONVERSION, {**CLICK, "sub3": "a&b=c d"})
    body = expand_body(values, "form")
    assert {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()} == values
    assert body_content_type("form") == "application/x-www-form-urlencoded"


def test_json_body_is_one_object_of_macro_strings() -> None:
    values = macro_values(CONVERSION, CLICK)
    assert json.loads(expand_body(values, "json")) == values
    assert body_content_type("json") == "application/json"


def test_an_unknown_body_format_is_refused() -> None:
    with pytest.raises(ValueError, match="xml"):
        expand_body({}, "xml")

