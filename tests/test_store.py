"""The store's JSON columns: orjson writes them, and every value reads back as json would."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any

import pytest

from simulator.store import Store


@pytest.fixture
def store() -> Iterator[Store]:
    db = Store()
    yield db
    db.close()


def stored(store: Store, value: Any) -> tuple[str, Any]:
    """The column's text and the value read back, for `value` written to journal.events."""
    row_id = store.insert("journal", {"platform": "meta", "api": "capi", "method": "POST",
                                      "path": "/", "status": 200, "events": value,
                                      "received_at": "now", "ts": 0.0})
    text = store.query_one("SELECT CAST(events AS TEXT) AS t FROM journal WHERE id = ?",
                           (row_id,))
    assert text is not None
    row = store.get("journal", row_id)
    assert row is not None
    return text["t"], row["events"]


def as_json_wrote(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


CASES = {
    "nested": [{"a": 1, "b": [True, None, "x"], "c": {"d": 1.5}}],
    "unicode-unescaped": ["é ü 漢字 \u2028 </script>"],
    "non-string-keys": [{1: "int", 2.5: "float", False: "bool", None: "none"}],
    "big-integer": [2**70, -(2**70)],
    "lone-surrogate-free-escapes": ["tab\tquote\"backslash\\"],
    "empty": [],
}


@pytest.mark.parametrize("value", list(CASES.values()), ids=list(CASES))
def test_json_columns_read_back_as_json_would_read_them(store, value):
    _, back = stored(store, value)
    assert back == json.loads(as_json_wrote(value))


@pytest.mark.parametrize("value", [CASES["nested"], CASES["unicode-unescaped"]],
                         ids=["nested", "unicode"])
def test_json_columns_are_written_compact_and_unescaped(store, value):
    text, _ = stored(store, value)
    assert text == as_json_wrote(value)


@pytest.mark.parametrize("special", [math.nan, math.inf, -math.inf], ids=["nan", "inf", "-inf"])
def test_non_finite_floats_survive_a_round_trip(store, special):
    _, back = stored(store, [{"value": special}, None])
    assert back[1] is None
    value = back[0]["value"]
    assert math.isnan(value) if math.isnan(special) else value == special


def test_big_integers_read_back_as_integers_not_floats(store):
    _, back = stored(store, {"n": 2**70})
    assert back == {"n": 2**70}
    assert isinstance(back["n"], int)


def test_rows_written_by_json_before_orjson_still_read(store):
    store.execute(
        "INSERT INTO journal (platform, api, method, path, status, events, received_at, ts) "
        "VALUES ('meta', 'capi', 'POST', '/', 200, ?, 'then', 0)",
        (json.dumps([{"value": math.nan}, 1e16, "é"], ensure_ascii=False),))
    row = store.query_one("SELECT events FROM journal")
    assert row is not None
    assert math.isnan(row["events"][0]["value"])
    assert row["events"][1:] == [1e16, "é"]


def test_sqlite_json_functions_read_text_written_either_way(store):
    stored(store, [{"event_id": "e-1", "n": 2**70}])
    stored(store, [{"event_id": "e-2"}])
    rows = store.query("SELECT json_extract(events, '$[0].event_id') AS id FROM journal "
                       "WHERE json_valid(events) ORDER BY id")
    assert [r["id"] for r in rows] == ["e-1", "e-2"]


def test_select_matches_a_json_column_by_the_same_encoding(store):
    stored(store, [{"k": "v", "n": 1}])
    assert store.find("journal", events=[{"k": "v", "n": 1}]) is not None


def test_a_lone_surrogate_in_a_json_column_round_trips_escaped(store):
    text, back = stored(store, [{"currency": "\ud800"}])
    assert text.isascii()
    assert back == [{"currency": "\ud800"}]


def test_a_lone_surrogate_in_a_text_column_is_stored_as_replacement_characters(store):
    row_id = store.insert("journal", {"platform": "meta", "api": "capi", "method": "POST",
                                      "path": "/x\ud800", "status": 200,
                                      "received_at": "now", "ts": 0.0})
    row = store.get("journal", row_id)
    assert row is not None
    assert row["path"].startswith("/x\ufffd")
