"""The `load` subcommand; imports nothing heavy until it runs.

`conformance.cli` registers it and gives it `run`'s --sim-url, --port and --grpc-port.
"""

from __future__ import annotations

import sys

import click

from conformance.errors import ConformanceError


class LoadUsageError(click.ClickException):
    """One line, exit 2, as the CLI's other harness errors."""

    exit_code = 2

    def show(self, file: object = None) -> None:
        click.echo(f"postback-sim: error: {self.format_message()}", err=True)


def _duration(_ctx: click.Context, _param: click.Parameter, value: str | None) -> float | None:
    from conformance.load.engine import parse_duration

    if value is None:
        return None
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@click.command()
@click.option("--profile", "profile_path", type=click.Path(dir_okay=False),
              help="The receiver profile (YAML); not needed with --worker.")
@click.option("--users", default=10, show_default=True, type=click.IntRange(min=1),
              help="Concurrent simulated users, each firing conversions.")
@click.option("--spawn-rate", default=10.0, show_default=True, type=click.FloatRange(min=0.1),
              help="Users started per second until --users run.")
@click.option("--run-time", "run_time", default=None, callback=_duration,
              help="How long to fire (30s, 10m, 1h30m); default 1m, or until stopped with --web.")
@click.option("--rate", default=None, type=click.FloatRange(min=0.01),
              help="Conversions per second over all users (default: one per user per second).")
@click.option("--headless/--web", "headless", default=True,
              help="Locust's console table (default) or its web UI on 127.0.0.1.")
@click.option("--web-port", default=8089, show_default=True, type=int,
              help="Port of Locust's web UI with --web.")
@click.option("--fault", "faults", multiple=True, metavar="SPEC",
              help="Fail a share of a platform's requests, e.g. meta:status=503,rate=0.05 "
                   "(also status=429,retry_after=2 | throttle | delay=3 | reset); repeatable.")
@click.option("--sample", default=0.1, show_default=True, type=click.FloatRange(0, 1),
              help="Share of the conversions whose platform requests the rules judge.")
@click.option("--timeout", "timeout_s", default=10.0, show_default=True,
              type=click.FloatRange(min=0.1), help="Seconds a postback may take to answer.")
@click.option("--master", is_flag=True,
              help="Be Locust's master: workers fire, this process aggregates and judges.")
@click.option("--expect-workers", default=1, show_default=True, type=click.IntRange(min=1),
              help="With --master: start once this many workers are connected.")
@click.option("--master-bind-host", default="127.0.0.1", show_default=True,
              help="With --master: interface workers connect to (0.0.0.0 for other machines).")
@click.option("--worker", is_flag=True, help="Be a Locust worker of the master at --master-host.")
@click.option("--master-host", default="127.0.0.1", show_default=True,
              help="With --worker: the master's host.")
@click.option("--master-port", default=5557, show_default=True, type=int,
              help="The master's port (Locust's --master-bind-port / --master-port).")
@click.option("--csv", "csv_prefix", default=None, metavar="PREFIX",
              help="Also write Locust's CSV stats (PREFIX_stats.csv, ...).")
@click.option("--json", "json_path", type=click.Path(dir_okay=False),
              help="Also write the verdict as JSON here.")
@click.option("--html", "html_path", type=click.Path(dir_okay=False),
              help="Also write the verdict as a self-contained HTML page here.")
def load(profile_path: str | None, users: int, spawn_rate: float, run_time: float | None,
         rate: float | None, headless: bool, web_port: int, sim_url: str | None, port: int,
         grpc_port: int | None, faults: tuple[str, ...], sample: float, timeout_s: float,
         master: bool, expect_workers: int, master_bind_host: str, worker: bool,
         master_host: str, master_port: int, csv_prefix: str | None, json_path: str | None,
         html_path: str | None) -> None:
    """Load-test the receiver with Locust: is any conversion lost or doubled, and how fast?"""
    from conformance.load import engine
    from conformance.load.faults import FaultSyntaxError, parse_fault

    try:
        if worker:
            sys.exit(engine.run_worker(master_host, master_port))
        if not profile_path:
            raise LoadUsageError("--profile is required (except with --worker)")
        specs = tuple(parse_fault(f) for f in faults)
        options = engine.LoadOptions(
            users=users, spawn_rate=spawn_rate,
            run_time_s=run_time if run_time is not None else (60.0 if headless else None),
            rate=rate, web=not headless, web_port=web_port, sim_url=sim_url, port=port,
            grpc_port=grpc_port, master=master, expect_workers=expect_workers,
            master_bind_host=master_bind_host, master_port=master_port, faults=specs,
            sample=sample, timeout_s=timeout_s, csv_prefix=csv_prefix)
        report = engine.run_load(profile_path, options)
    except (ConformanceError, FaultSyntaxError) as exc:
        raise LoadUsageError(str(exc)) from None
    except OSError as exc:
        raise LoadUsageError(f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": ")) from None
    from conformance.load.report import render_text, write_html, write_json

    click.echo(render_text(report))
    for path, writer in ((json_path, write_json), (html_path, write_html)):
        if path:
            writer(report, path)
            click.echo(f"wrote {path}")
    sys.exit(report.exit_code)
