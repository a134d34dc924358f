"""The `postback-sim` command: serve the simulator, run scenarios, list them, run the demo.

Exit codes: 0 every run scenario passed, 1 a conformance failure, 2 a usage or harness error
(one clear line, never a traceback).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click
import yaml

from conformance.load.command import load as load_command
from conformance.reporters import ConsoleReporter, write_html, write_json, write_junit
from conformance.results import RunEvent, RunFinished, RunSummary

if TYPE_CHECKING:
    from flask import Flask

HARNESS_ERROR = 2


class HarnessError(click.ClickException):
    """A problem that stops the run before any verdict: printed as one line, exit 2."""

    exit_code = HARNESS_ERROR

    def show(self, file: object = None) -> None:
        click.echo(f"postback-sim: error: {self.format_message()}", err=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="postback-sim", prog_name="postback-sim")
def main() -> None:
    """postback-sim: a partner-network postback simulator and a conformance suite for the
    receivers that forward conversions to Meta, TikTok and Google."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
@click.option("--db", default="postback-sim.db", show_default=True,
              help="SQLite file for the simulator's state; ':memory:' for a throwaway run.")
@click.option("--grpc-port", default=8001, show_default=True, type=int,
              help="Port of the Google Ads gRPC mock (TLS); 0 turns it off.")
@click.option("--grpc-plaintext-port", default=None, type=int,
              help="Also serve the gRPC mock without TLS on this port, for clients that allow it.")
@click.option("--workers", default=None, type=click.IntRange(1, 64),
              help="Server processes over the one database (default: the number of cores; "
                   "1 with --db :memory:).")
def serve(host: str, port: int, db: str, grpc_port: int, grpc_plaintext_port: int | None,
          workers: int | None) -> None:
    """Serve the partner network, the mock platforms and the dashboard (gunicorn)."""
    from simulator.server import ListenError, ensure_can_listen, serve_production

    if db != ":memory:":
        parent = Path(db).expanduser().resolve().parent
        if not parent.is_dir():
            raise HarnessError(f"--db {db}: folder {parent} does not exist")
    grpc = _grpc_plan(host, db, grpc_port, grpc_plaintext_port)
    try:
        for bound in (port, *grpc.ports):
            ensure_can_listen(host, bound)
    except ListenError as exc:
        raise HarnessError(str(exc)) from None
    click.echo(f"postback-sim serving on http://{host}:{port}/ (state in {db}); Ctrl-C stops")
    click.echo(f"  dashboard  http://{host}:{port}/")
    click.echo(f"  API        http://{host}:{port}/api/openapi.json")
    click.echo(f"  mocks      http://{host}:{port}/meta  /tiktok  /google-ads  /datamanager")
    click.echo(f"  OAuth      http://{host}:{port}/oauth2/token")
    for line in grpc.lines:
        click.echo(line)
    # An in-memory database lives in one process: more workers would each have their own.
    count = 1 if db == ":memory:" else workers or os.cpu_count() or 1
    serve_production(lambda: _worker_app(db, grpc), host, port, workers=count)
    click.echo("postback-sim stopped")


def _worker_app(db: str, grpc: GrpcPlan) -> Flask:
    """One serve worker's app: the worker holding the database's primary lock also runs the
    delivery engine and the gRPC mock; workers start one at a time (schema, demo offer)."""
    from simulator import SimConfig, create_app
    from simulator.file_lock import primary, startup

    if db == ":memory:":
        return grpc.serve(create_app(SimConfig(db_path=db)))
    lock = primary(db)
    with startup(db).held():
        is_primary = lock.try_acquire()
        app = create_app(SimConfig(db_path=db, delivery_engine=is_primary))
    if not is_primary:
        return app
    app.extensions["postback_sim_primary_lock"] = lock  # held while the worker lives
    return grpc.serve(app)


def _grpc_plan(host: str, db: str, port: int, plaintext_port: int | None) -> GrpcPlan:
    """What `serve` will do about gRPC: the certificate made now (before gunicorn forks; grpc
    itself starts in the worker), the lines to print, or the install hint."""
    from simulator.platforms import google_ads_grpc

    if not port:
        return GrpcPlan(lines=["  gRPC       off (--grpc-port 0)"])
    hint = google_ads_grpc.missing()
    if hint:
        return GrpcPlan(lines=[f"  gRPC       {hint}"])
    from simulator.platforms.google_ads_grpc import certificate

    cert_dir = certificate.state_dir(db)
    cert = certificate.ensure(cert_dir)
    lines = [f"  gRPC       {host}:{port} (Google Ads, TLS; any API version)",
             f"  cert       {cert.cert_path}"]
    if plaintext_port is not None:
        lines.append(f"  gRPC plain {host}:{plaintext_port} (no TLS)")
    ports = (port,) if plaintext_port is None else (port, plaintext_port)
    return GrpcPlan(lines=lines, ports=ports, host=host, cert_dir=cert_dir,
                    plaintext_port=plaintext_port)


@dataclass(frozen=True)
class GrpcPlan:
    lines: list[str]
    ports: tuple[int, ...] = ()
    host: str = "127.0.0.1"
    cert_dir: Path | None = None
    plaintext_port: int | None = None

    def serve(self, app: Flask) -> Flask:
        """Start the gRPC mock beside `app` (in the process that serves it)."""
        if self.ports and self.cert_dir is not None:
            from simulator.platforms.google_ads_grpc import server

            server.start(app, host=self.host, port=self.ports[0], cert_dir=self.cert_dir,
                         plaintext_port=self.plaintext_port)
        return app


@main.command()
@click.option("--db", default="postback-sim.db", show_default=True,
              help="The database `serve` uses; ':memory:' for the in-process simulator of "
                   "`run` and `demo`.")
def cert(db: str) -> None:
    """Print the path of the gRPC mock's TLS certificate (made now if missing)."""
    from simulator.platforms import google_ads_grpc

    hint = google_ads_grpc.missing()
    if hint:
        raise HarnessError(hint)
    from simulator.platforms.google_ads_grpc import certificate

    click.echo(certificate.ensure(certificate.state_dir(db)).cert_path)


@main.command("google-credentials")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Folder to write service-account.json and authorized-user.json into.")
@click.option("--sim-url", default="http://127.0.0.1:8000", show_default=True,
              help="The simulator whose /oauth2/token the files name as token_uri.")
def google_credentials(out_dir: str, sim_url: str) -> None:
    """Write Google credential files that the simulator's token endpoint accepts."""
    from simulator.platforms import google_ads_grpc
    from simulator.platforms import google_credentials as credentials

    hint = google_ads_grpc.missing()
    if hint:
        raise HarnessError(hint)
    try:
        files = credentials.write(Path(out_dir), sim_url)
    except OSError as exc:
        raise HarnessError(f"--out {out_dir}: {exc.strerror or exc}") from None
    click.echo(f"service account  {files.service_account}")
    click.echo(f"authorized user  {files.authorized_user}")
    click.echo(f"google-ads: json_key_file_path: {files.service_account}")
    click.echo(f"        or: GOOGLE_APPLICATION_CREDENTIALS={files.authorized_user}")


def _report_options(func: Callable[..., None]) -> Callable[..., None]:
    """--json, --junit and --html, shared by `run` and `demo`."""
    func = click.option("--html", "html_path", type=click.Path(dir_okay=False),
                        help="Also write a self-contained HTML report here.")(func)
    func = click.option("--junit", "junit_path", type=click.Path(dir_okay=False),
                        help="Also write a JUnit XML report (a testcase per scenario).")(func)
    func = click.option("--json", "json_path", type=click.Path(dir_okay=False),
                        help="Also write the JSON report here.")(func)
    return func


def _scenarios_dir_option(func: Callable[..., None]) -> Callable[..., None]:
    """--scenarios-dir, shared by `run` and `scenarios`."""
    return click.option(
        "--scenarios-dir", "scenario_dirs", multiple=True, metavar="DIR",
        type=click.Path(file_okay=False),
        help="Also load the scenario files in this folder, beside the built-in catalogue "
             "(repeatable).")(func)


def _consume(events: Iterable[RunEvent], json_path: str | None, junit_path: str | None,
             html_path: str | None) -> int:
    """Print progress as events arrive, write the requested reports, return the exit code."""
    console = ConsoleReporter()
    summary: RunSummary | None = None
    for event in events:
        console.handle(event)
        if isinstance(event, RunFinished):
            summary = event.summary
    if summary is None:
        raise HarnessError("the run ended before it finished (no summary)")
    for path, writer in ((json_path, write_json), (junit_path, write_junit),
                         (html_path, write_html)):
        if path:
            writer(summary, path)
            click.echo(f"wrote {path}")
    return summary.exit_code


def _guard(events: Iterator[RunEvent]) -> Iterator[RunEvent]:
    """Turn the harness's own errors (bad files, unreachable receiver) into one clear line."""
    from conformance.errors import ConformanceError

    try:
        yield from events
    except ConformanceError as exc:
        raise HarnessError(str(exc)) from None
    except OSError as exc:
        raise HarnessError(f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": ")) from None


@main.command()
@click.option("--profile", "profile_path", required=True, type=click.Path(dir_okay=False),
              help="The receiver profile (YAML) describing the receiver under test.")
@click.option("--scenario", "scenario_ids", multiple=True, metavar="ID",
              help="Run only this scenario (repeatable).")
@click.option("--tag", "tags", multiple=True, metavar="TAG",
              help="Run only scenarios with this tag (repeatable).")
@click.option("--sim-url", default=None, metavar="URL",
              help="Use a running simulator instead of starting one in-process.")
@click.option("--port", default=8000, show_default=True, type=int,
              help="Port for the in-process simulator (the receiver's mock base URLs use it).")
@click.option("--grpc-port", default=None, type=int,
              help="Port for the in-process Google Ads gRPC mock (default: --port + 1).")
@_scenarios_dir_option
@click.option("--network", default=None, metavar="NAME",
              help="The network persona that sends the postbacks (see `postback-sim networks`); "
                   "overrides the profile's network.")
@_report_options
def run(profile_path: str, scenario_ids: tuple[str, ...], tags: tuple[str, ...],
        sim_url: str | None, port: int, grpc_port: int | None, scenario_dirs: tuple[str, ...],
        network: str | None, json_path: str | None, junit_path: str | None,
        html_path: str | None) -> None:
    """Run scenarios against the receiver the profile describes."""
    from conformance.runner import run_scenarios

    events = run_scenarios(profile_path, scenario_ids=list(scenario_ids), tags=list(tags),
                           sim_url=sim_url, port=port, grpc_port=grpc_port,
                           scenario_dirs=list(scenario_dirs), network=network)
    sys.exit(_consume(_guard(events), json_path, junit_path, html_path))


@main.command()
@click.option("--network", default=None, metavar="NAME",
              help="The network persona that sends the postbacks (see `postback-sim networks`).")
@_report_options
def demo(network: str | None, json_path: str | None, junit_path: str | None,
         html_path: str | None) -> None:
    """Start a simulator and the bundled reference receiver, and run the whole catalogue."""
    from conformance.demo import demo_events

    sys.exit(_consume(_guard(demo_events(network)), json_path, junit_path, html_path))


@main.command()
def networks() -> None:
    """List the network personas: macros, statuses sent, retries and deactivation."""
    from simulator import personas

    for persona in personas.all_personas().values():
        default = " (default)" if persona.name == personas.DEFAULT else ""
        sample = " ".join(persona.placeholder(m.name) for m in persona.macros[:3])
        fires = ", ".join(s for s in personas.STATUSES if s in persona.fires)
        off = (f"; disabled after {persona.deactivate_failures} failures"
               if persona.deactivate_failures else "")
        click.echo(f"{persona.name:<12} {persona.title}{default}")
        click.echo(f"{'':<12} macros {sample} ...; {persona.method}; fires on {fires}; "
                   f"{len(persona.retry_schedule)} retries{off}")


@main.command()
@click.option("--tag", "tags", multiple=True, metavar="TAG", help="Only scenarios with this tag.")
@_scenarios_dir_option
def scenarios(tags: tuple[str, ...], scenario_dirs: tuple[str, ...]) -> None:
    """List the scenario catalogue."""
    from conformance.scenario import load_catalogue, select

    try:
        catalogue = select(load_catalogue(extra=scenario_dirs), tags=tags)
    except Exception as exc:  # a broken scenario file is a harness error, said in one line
        raise HarnessError(str(exc)) from None
    for scenario in catalogue:
        click.echo(f"{scenario.id:<34} [{', '.join(scenario.platforms)}] {scenario.title}")


@main.command()
@click.option("--out", default="receiver.yaml", show_default=True, type=click.Path(dir_okay=False),
              help="Where to write the starter profile.")
@click.option("--platform", "platforms", multiple=True, metavar="NAME",
              type=click.Choice(["meta", "tiktok", "google_ads", "datamanager"]),
              help="A platform your receiver forwards to (repeatable; default: all four).")
@click.option("--postback-url", default=None, metavar="URL",
              help="Your receiver's postback template with {macros} (default: a local example).")
@click.option("--force", is_flag=True, help="Overwrite the file if it exists.")
def init(out: str, platforms: tuple[str, ...], postback_url: str | None, force: bool) -> None:
    """Write a commented starter receiver profile (receiver.yaml) to edit."""
    from conformance.errors import ConformanceError
    from conformance.profile import PLATFORMS, profile_from_mapping
    from conformance.starter import DEFAULT_POSTBACK_URL, starter_profile

    text = starter_profile(platforms or PLATFORMS, postback_url or DEFAULT_POSTBACK_URL)
    try:  # what init writes must load: a bad --postback-url is said now, not at `run`
        profile_from_mapping(yaml.safe_load(text), "--postback-url")
    except ConformanceError as exc:
        raise HarnessError(str(exc)) from None
    path = Path(out)
    if path.exists() and not force:
        raise HarnessError(f"{out} already exists (--force overwrites it)")
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise HarnessError(f"{out}: {exc.strerror or exc}") from None
    click.echo(f"wrote {out}: edit the ids, then start your receiver and run "
               f"postback-sim run --profile {out}")


@main.command()
@click.option("--platform", default=None, help="Only rules for this platform.")
def rules(platform: str | None) -> None:
    """List the rules with their IDs, severity and the doc each enforces."""
    from conformance.rules import all_rules

    for rule in all_rules():
        if platform and rule.platform != platform:
            continue
        click.echo(f"{rule.id:<12} {rule.severity:<6} {rule.platform:<12} {rule.summary}")
        click.echo(f"{'':<32}{rule.doc_url}")


# `load` reaches the simulator as `run` does: the same --sim-url, --port and --grpc-port.
load_command.params[1:1] = [p for p in run.params if p.name in ("sim_url", "port", "grpc_port")]
main.add_command(load_command)


if __name__ == "__main__":
    main()
