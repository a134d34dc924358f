"""The load verdict for people (console text, HTML) and machines (JSON)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from conformance.load.verdict import LoadReport
from conformance.reporters.atomic_file import write_atomically

SHOWN = 10  # conversions listed per problem on the console; --json and --html list more


def _ms(stats: dict[str, Any]) -> str:
    if not stats.get("count"):
        return "n/a (nothing measured)"
    return (f"p50 {stats['p50']:g} ms   p95 {stats['p95']:g} ms   p99 {stats['p99']:g} ms"
            f"   ({stats['count']})")


def render_text(report: LoadReport) -> str:
    """The verdict as the console prints it after Locust's own tables."""
    counts = report.counts
    verdict = {0: "PASSED", 1: "FAILED", 2: "ERROR"}[report.exit_code]
    lines = [
        "", "=" * 78,
        f"postback-sim load verdict: {verdict}",
        f"  conversions fired      {report.fired}"
        f"   exactly one accepted event: {report.ok}",
        f"  lost                   {counts['lost']}",
        f"  doubled                {counts['doubled']}",
        f"  unaccounted events     {counts['unaccounted']}"
        "   (platform events no fired conversion explains)",
        f"  receiver response      {_ms(report.receiver_ms)}",
        f"  postback -> journal    {_ms(report.journal_latency_ms)}",
        f"  throughput             {report.throughput['conversions_per_s']:g} conversions/s, "
        f"{report.throughput['accepted_events_per_s']:g} accepted events/s over "
        f"{report.throughput['duration_s']:g}s",
        f"  platform requests      {counts['platform_requests']}"
        f"   postback attempts: {counts['postback_attempts']}",
    ]
    if report.errors:
        lines.append("  errors by kind:")
        lines += [f"    {n:>7}  {kind}" for kind, n in report.errors.items()]
    for title, rows, key in (("lost", report.lost, "lost"),
                             ("doubled", report.doubled, "doubled"),
                             ("unaccounted", report.unaccounted, "unaccounted")):
        if rows:
            shown = rows[:SHOWN]
            more = counts[key] - len(shown)
            lines.append(f"  {title}{f' (first {len(shown)} of {counts[key]})' if more else ''}:")
            lines += [f"    {_describe(title, row)}" for row in shown]
    sample = report.sample
    lines.append(f"  rules on a sample of {sample['conversions']} conversion(s) "
                 f"({sample['fraction']:.0%}): "
                 f"{'no findings' if not report.findings else f'{len(report.findings)} rule(s)'}")
    for finding in report.findings:
        lines.append(f"    [{finding['rule']}] {finding['severity']} {finding['platform']} "
                     f"x{finding['count']}: {finding['message']}")
        lines.append(f"        {finding['doc_url']}")
    lines += [f"  note: {note}" for note in report.notes]
    lines.append("=" * 78)
    return "\n".join(lines)


def _describe(title: str, row: dict[str, Any]) -> str:
    if title == "lost":
        return (f"{row['conversion_id']} ({row['platform']}): no accepted event; receiver "
                f"answered {row['receiver']}; platform requests {row['requests'] or 'none'}")
    if title == "doubled":
        events = ", ".join(f"#{e['journal_id']} {e['platform']} event_id={e['event_id']!r}"
                           for e in row["events"])
        return f"{row['conversion_id']} ({row['platform']}): {events}"
    return (f"journal #{row['journal_id']} {row['platform']} event {row['event_index']} "
            f"event_id={row['event_id']!r}")


def write_json(report: LoadReport, path: str | Path) -> None:
    write_atomically(path, json.dumps(report.to_dict(), indent=2) + "\n")


def write_html(report: LoadReport, path: str | Path) -> None:
    env = Environment(loader=PackageLoader("conformance.load", "templates"),
                      autoescape=select_autoescape(["html"]))
    page = env.get_template("load_report.html").render(
        report=report, data=report.to_dict(), text=render_text(report))
    write_atomically(path, page)
