"""Request-level parameters read however the receiver sent them (conformance.rules.shapes)."""

from __future__ import annotations

import json

import pytest

from conformance.rules.shapes import request_params

MULTIPART = ('--b\r\nContent-Disposition: form-data; name="data"\r\n\r\n[{"event_name":"Purchase"}]'
             '\r\n--b\r\nContent-Disposition: form-data; name="test_event_code"\r\n\r\nTEST1\r\n'
             '--b--\r\n')
BODIES = {
    "json": json.dumps({"data": [], "test_event_code": "TEST1"}),
    "form": "data=%5B%5D&test_event_code=TEST1",
    "multipart": MULTIPART,
}


@pytest.mark.parametrize("body", BODIES.values(), ids=BODIES.keys())
def test_a_body_parameter_is_read_from_json_form_and_multipart_bodies(body: str) -> None:
    assert request_params({"body": body, "query": {}})["test_event_code"] == "TEST1"


def test_a_query_parameter_is_read_and_the_body_wins_a_clash() -> None:
    entry = {"body": "test_event_code=BODY", "query": {"test_event_code": "QUERY", "a": "1"}}
    assert request_params(entry) == {"test_event_code": "BODY", "a": "1"}


def test_a_body_that_is_neither_gives_the_query_alone() -> None:
    assert request_params({"body": "garbage", "query": {"a": "1"}}) == {"a": "1"}
