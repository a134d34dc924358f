"""Bad input anywhere in the network API gets a 4xx JSON error naming the problem, never a 500."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from simulator import create_app, testing_config
from simulator.app import shutdown
from simulator.network.validation import fragment

LIMIT = 4096

WRITES = [
    ("POST", "/api/offers"),
    ("PATCH", "/api/offers/1"),
    ("POST", "/api/postbacks"),
    ("POST", "/api/postbacks/validate"),
    ("POST", "/api/postbacks/test"),
    ("POST", "/api/links"),
    ("POST", "/api/clicks"),
    ("POST", "/api/conversions"),
    ("PATCH", "/api/conversions/1"),
    ("PATCH", "/api/postbacks/1"),
]
WRITE_IDS = [f"{m} {p}" for m, p in WRITES]


@pytest.fixture(scope="module")
def app() -> Iterator[Flask]:
    """One app for the module: refused requests change nothing."""
    application = create_app(testing_config(start_workers=False, max_request_bytes=LIMIT))
    yield application
    shutdown(application)


def _send(client, method, path, data, content_type="application/json"):
    resp = client.open(path, method=method, data=data, content_type=content_type)
    assert 400 <= resp.status_code < 500, resp.get_data(as_text=True)
    assert resp.is_json
    return resp.status_code, resp.json["error"]


@pytest.mark.parametrize(
    ("raw", "needle"),
    [
        (b'{"name": ', "malformed JSON at line 1"),
        (b"{'name': 'x'}", "malformed JSON"),
        (b'{"payout": NaN}', "NaN is not valid JSON"),
        (b'{"name": "\xff"}', "not valid UTF-8"),
        (b"[" * 100_000, "malformed JSON"),
        (b"\r\n\r\n", "malformed JSON"),
    ],
    ids=["truncated", "single-quotes", "nan", "invalid-utf8", "deep-nesting", "whitespace-only"],
)
@pytest.mark.parametrize(("method", "path"), WRITES, ids=WRITE_IDS)
def test_malformed_json_is_a_400(client, method, path, raw, needle):
    status, error = _send(client, method, path, raw[: LIMIT - 1])
    assert status == 400
    assert error["code"] == "malformed_json"
    assert needle in error["message"]


@pytest.mark.parametrize(("method", "path"), WRITES, ids=WRITE_IDS)
def test_a_lone_surrogate_is_well_formed_json_refused_with_422(client, method, path):
    status, error = _send(client, method, path, b'{"name": "\\ud800"}')
    assert status == 422
    assert error["code"] == "unencodable_text"


@pytest.mark.parametrize("raw", [b"[]", b'"text"', b"42", b"null", b"true"],
                         ids=["array", "string", "number", "null", "boolean"])
@pytest.mark.parametrize(("method", "path"), WRITES, ids=WRITE_IDS)
def test_non_object_body_is_a_400(client, method, path, raw):
    status, error = _send(client, method, path, raw)
    assert status == 400
    assert "must be a JSON object" in error["message"]


@pytest.mark.parametrize(("method", "path"), WRITES, ids=WRITE_IDS)
def test_unknown_field_is_refused_by_name(client, method, path):
    status, error = _send(client, method, path, b'{"url": "https://x.test/{sub1}", "sub6": "x"}')
    assert status == 400
    assert error["field"] == "sub6"
    assert error["code"] == "unknown_field"


@pytest.mark.parametrize(("method", "path"), WRITES, ids=WRITE_IDS)
def test_oversized_body_is_a_json_413(client, method, path):
    status, error = _send(client, method, path, b'{"name": "' + b"x" * LIMIT + b'"}')
    assert status == 413
    assert error["code"] == "too_large"


@pytest.mark.parametrize(
    ("path", "body", "field", "needle"),
    [
        ("/api/clicks", b'{"offer_id": "1"}', "offer_id", "expected integer, got a string"),
        ("/api/clicks", b'{"offer_id": true}', "offer_id", "expected integer, got a boolean"),
        ("/api/clicks", b'{"offer_id": 1.5}', "offer_id", "expected integer"),
        ("/api/clicks", b'{"offer_id": 0}', "offer_id", "must be >= 1"),
        ("/api/clicks", b'{"offer_id": 1e400}', "offer_id", "expected integer"),
        ("/api/clicks", b'{"days_ago": -1}', "days_ago", "must be >= 0"),
        ("/api/clicks", b'{"days_ago": 100000}', "days_ago", "must be <= 3650"),
        ("/api/clicks", b'{"country": "usa"}', "country", "ISO 3166-1 alpha-2"),
        ("/api/clicks", b'{"sub1": 42}', "sub1", "expected string, got an integer"),
        ("/api/clicks", b'{"at": "9999-12-31T23:59:59-05:00"}', "at", "outside 1970-2100"),
        ("/api/offers", b'{"name": "n", "landing_url": "https://[::1/", "currency": "USD",'
                        b' "payout": 1}', "landing_url", "does not parse"),
        ("/api/offers", b'{"name": "n", "landing_url": "https://x.test/", "currency": "USD",'
                        b' "payout": 1e400}', "payout", "must be <= 1000000000"),
        ("/api/postbacks", b'{"url": "https://x.test/{sub1}", "method": "PUT"}', "method",
         "must be one of: GET, POST"),
        ("/api/postbacks", b'{"url": "https://x.test/{sub1}", "enabled": "yes"}', "enabled",
         "expected boolean"),
        ("/api/postbacks", b'{"url": "https://x.test/{sub1}", "offer_id": 42}', "offer_id",
         "offer 42 does not exist"),
    ],
    ids=["string-id", "boolean-id", "fractional-id", "zero-id", "infinite-id", "negative-age",
         "ten-thousand-years", "three-letter-country", "numeric-sub", "year-9999",
         "unparseable-landing-url", "infinite-payout",
         "put-method", "string-boolean", "unknown-offer"],
)
def test_wrong_types_and_ranges_name_the_field_and_problem(client, path, body, field, needle):
    _, error = _send(client, "POST", path, body)
    assert error["field"] == field
    assert needle in error["message"]


@pytest.mark.parametrize(
    "path",
    ["/api/offers/99", "/api/postbacks/99", "/api/links/99", "/api/clicks/nope",
     "/api/clicks/99", "/api/conversions/nope", "/api/offers/99999999999999999999999"],
)
def test_unknown_ids_are_json_404s(client, path):
    status, error = _send(client, "GET", path, None)
    assert status == 404
    assert error["code"] == "not_found"


def test_empty_body_is_refused_where_fields_are_required(client):
    status, error = _send(client, "POST", "/api/offers", b"")
    assert status == 400
    assert "JSON object body is required" in error["message"]


def test_empty_update_is_refused(client):
    _, error = _send(client, "PATCH", "/api/offers/1", b"{}")
    assert "at least one field" in error["message"]


def test_body_without_json_content_type_is_still_read(client):
    resp = client.post("/api/clicks", data=b'{"sub1": "curl"}',
                       content_type="application/x-www-form-urlencoded")
    assert resp.status_code == 201
    assert resp.json["sub1"] == "curl"


def test_wrong_method_is_a_json_405(client):
    resp = client.delete("/api/offers")
    assert resp.status_code == 405
    assert resp.json["error"]["code"] == "method_not_allowed"


ODD_VALUES = [None, True, -1, 0, 2**64, 1e308, -1e-308, "", " ", "x" * 5000, "ü\u202e\x00",
              "1", "9" * 25, "https://[::1/", "{sub1}", [], {}, [1], {"a": 1}]


BASES = {
    "/api/offers": {"name": "n", "landing_url": "https://x.test/", "payout": 1,
                    "currency": "USD"},
    "/api/postbacks": {"url": "https://x.test/?c={sub1}"},
    "/api/postbacks/test": {},
    "/api/links": {},
    "/api/clicks": {},
    "/api/conversions": {"click": 1},
}


@pytest.mark.parametrize(("path", "schema"), [
    ("/api/offers", "OfferCreate"),
    ("/api/postbacks", "PostbackCreate"),
    ("/api/postbacks/test", "PostbackTest"),
    ("/api/links", "LinkCreate"),
    ("/api/clicks", "ClickCreate"),
    ("/api/conversions", "ConversionCreate"),
], ids=["offers", "postbacks", "postback-test", "links", "clicks", "conversions"])
def test_no_field_value_makes_the_api_answer_500(client, path, schema):
    assert client.post("/api/clicks", json={}).status_code == 201
    for name in fragment()["components"]["schemas"][schema]["properties"]:
        for value in ODD_VALUES:
            resp = client.post(path, json={**BASES[path], name: value})
            assert resp.status_code < 500, (name, value, resp.get_data(as_text=True))


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE", "POST"], ids=str.lower)
@pytest.mark.parametrize(
    "prefix",
    ["/api/offers/", "/api/postbacks/", "/api/links/", "/api/deliveries/", "/api/journal/",
     "/api/ad-clicks/"],
)
def test_an_id_past_pythons_int_digit_limit_is_a_json_4xx_not_a_500(client, prefix, method):
    resp = client.open(prefix + "9" * 5000, method=method, json={})
    assert resp.status_code in (404, 405)
    assert resp.json["error"]["code"] in ("not_found", "method_not_allowed")


def test_an_offer_whose_host_has_no_idna_form_is_refused(client):
    resp = client.post("/api/offers", json={**BASES["/api/offers"],
                                            "landing_url": "https://a\u0080b.example/"})
    assert resp.status_code == 422
    assert resp.json["error"]["field"] == "landing_url"


def test_a_click_on_an_offer_stored_with_such_a_host_is_a_json_409(app, client):
    store = app.extensions["postback_sim"].store
    offer_id = store.insert("offers", {"name": "old", "landing_url": "https://a\u0080b.example/",
                                       "payout": 1, "currency": "USD", "created_at": "now"})
    resp = client.get(f"/click?offer_id={offer_id}")
    assert resp.status_code == 409
    assert resp.json["error"]["field"] == "landing_url"


@pytest.mark.parametrize(
    "path",
    ["/api/conversions/%C2%B3", "/api/clicks/%C2%B3", "/api/conversions/%E2%91%A0",
     "/api/conversions?offer_id=99999999999999999999999", "/api/clicks?offer_id=%C2%B3",
     "/api/deliveries?conversion_id=%C2%B3"],
    ids=["superscript-conversion", "superscript-click", "circled-conversion", "huge-offer-id",
         "superscript-offer-id", "superscript-delivery-filter"],
)
def test_numbers_out_of_range_or_not_ascii_are_json_4xx(client, path):
    resp = client.get(path)
    assert resp.status_code in (200, 400, 404), resp.get_data(as_text=True)
    assert resp.is_json


@pytest.mark.parametrize("body", [{"ago_seconds": 6473823444976.9}, {"days_ago": 1e12},
                                  {"ago_seconds": "1e400"}], ids=["seconds", "days", "inf"])
def test_an_ad_click_placed_before_the_calendar_is_a_400(client, body):
    resp = client.post("/api/ad-clicks", json={"platform": "meta", **body})
    assert resp.status_code == 400
    assert resp.json["error"]["field"] in ("ago_seconds", "days_ago")
