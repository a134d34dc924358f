"""The app's JSON answers: UTF-8 text in insertion order, and never a failure to encode."""

from __future__ import annotations

from typing import Any

from flask.json.provider import DefaultJSONProvider


class JsonProvider(DefaultJSONProvider):
    """Flask's provider, keeping keys in order and non-ASCII text as is.

    A lone surrogate (a request may carry `"\\ud800"`, which Python decodes) has no UTF-8 form;
    such an answer is written with ASCII escapes instead, so echoing it back never fails.
    """

    ensure_ascii = False
    sort_keys = False

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        text = super().dumps(obj, **kwargs)
        if not text.isascii():
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                text = super().dumps(obj, **{**kwargs, "ensure_ascii": True})
        return text
