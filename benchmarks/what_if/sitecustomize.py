"""What-if patches for measuring a recommended fix before its owner makes it (benchmarks only).

Loaded by Python at start-up when this folder is on PYTHONPATH and BENCH_WHAT_IF names the
patches (comma-separated). Nothing in the project imports this; the fixes themselves belong in
the modules patched here (see docs/performance.md).

- `fast-validate`: validate Meta events with fastjsonschema first; only an invalid event goes
  through jsonschema, which builds Meta's error message.
- `orjson-store`: encode and decode the store's JSON columns with orjson instead of json (the
  journal row of a 100-event request carries ~100 KB of JSON).
- `no-dedup-scan`: skip the Meta dedup lookup (`meta_events._earlier`), the upper bound of
  replacing its journal scan with an indexed lookup (one indexed SELECT, tens of microseconds).
"""

from __future__ import annotations

import os


def _fast_validate() -> None:
    import fastjsonschema

    from simulator.platforms import meta_parse

    fast = fastjsonschema.compile(meta_parse.EVENT_VALIDATOR.schema)
    slow = meta_parse.check_event

    def check_event(event: object, index: int) -> None:
        if isinstance(event, dict):
            try:
                fast(event)
                return
            except fastjsonschema.JsonSchemaException:
                pass
        slow(event, index)

    meta_parse.check_event = check_event


def _no_dedup_scan() -> None:
    from simulator.platforms import meta_events

    meta_events._earlier = lambda _store, _key, _now: None


def _orjson_store() -> None:
    import orjson

    from simulator import store

    plain_encode = store._encode

    def encode(value: object) -> object:
        if isinstance(value, dict | list):
            return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode("utf-8")
        return plain_encode(value)

    def decode(row: object) -> dict:
        out = dict(row)
        for key in store.JSON_COLUMNS.intersection(out):
            if isinstance(out[key], str):
                out[key] = orjson.loads(out[key])
        return out

    store._encode = encode
    store._decode = decode


PATCHES = {"fast-validate": _fast_validate, "no-dedup-scan": _no_dedup_scan,
           "orjson-store": _orjson_store}

for _name in filter(None, os.environ.get("BENCH_WHAT_IF", "").split(",")):
    PATCHES[_name.strip()]()
