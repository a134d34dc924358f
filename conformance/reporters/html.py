"""A self-contained HTML report: per scenario, the postback sent, the receiver's answer, and the
platform requests with the offending fields highlighted."""

from __future__ import annotations

import json
import re
from html import escape
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from conformance.reporters.atomic_file import write_atomically
from conformance.results import RunSummary

_INDEX = re.compile(r"\[(\d+)\]")


def normalise_path(path: str) -> str:
    """`data[0].user_data.fbc` -> `data.0.user_data.fbc`, the form the renderer walks."""
    return _INDEX.sub(r".\1", path).strip(".")


def request_body(entry: dict[str, Any]) -> Any:
    """The request as a JSON value: the body when it is JSON, else rebuilt from parsed events."""
    try:
        return json.loads(entry.get("body") or "")
    except ValueError:
        pass
    rebuilt: dict[str, Any] = {}
    for event in entry.get("events", []):
        prefix = normalise_path(event.get("field_prefix") or f"data[{event.get('index', 0)}]")
        key, _, index = prefix.partition(".")
        rebuilt.setdefault(key, [])
        if index.isdigit():
            rebuilt[key].append(event.get("raw"))
    return rebuilt or entry.get("body", "")


def render_value(value: Any, marks: set[str], path: str = "", indent: int = 0) -> str:
    """Pretty JSON as HTML; values whose path is in `marks` are wrapped in <mark>."""
    pad = "  " * indent
    if isinstance(value, dict):
        if not value:
            text = "{}"
        else:
            items = [
                f'{pad}  <span class="k">{escape(json.dumps(k, ensure_ascii=False))}</span>: '
                + render_value(v, marks, f"{path}.{k}".strip("."), indent + 1)
                for k, v in value.items()
            ]
            text = "{\n" + ",\n".join(items) + f"\n{pad}}}"
    elif isinstance(value, list):
        if not value:
            text = "[]"
        else:
            items = [
                pad + "  " + render_value(v, marks, f"{path}.{i}".strip("."), indent + 1)
                for i, v in enumerate(value)
            ]
            text = "[\n" + ",\n".join(items) + f"\n{pad}]"
    else:
        text = escape(json.dumps(value, ensure_ascii=False))
    if path and path in marks:
        return f'<mark title="{escape(path)}">{text}</mark>'
    return text


def _marks_for(entry: dict[str, Any], findings: list[dict[str, Any]]) -> set[str]:
    marks = set()
    for finding in findings:
        evidence = finding.get("evidence") or {}
        if evidence.get("journal_id") == entry.get("id") and evidence.get("field"):
            marks.add(normalise_path(str(evidence["field"])))
    return marks


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("conformance.reporters", "templates"),
        autoescape=select_autoescape(["html"]),
    )

    def pretty(entry: dict[str, Any], findings: list[dict[str, Any]]) -> Markup:
        return Markup(render_value(request_body(entry), _marks_for(entry, findings)))

    def as_json(value: Any) -> str:
        return json.dumps(value, indent=2, ensure_ascii=False)

    env.globals.update(pretty=pretty, as_json=as_json)
    return env


def render_html(summary: RunSummary) -> str:
    return _environment().get_template("report.html").render(
        summary=summary, counts=summary.counts()
    )


def write_html(summary: RunSummary, path: str | Path) -> None:
    write_atomically(path, render_html(summary))
