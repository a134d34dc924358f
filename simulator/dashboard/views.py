"""The partner dashboard: server-rendered pages (first paint from the domain functions) whose
controls call the JSON API from the browser, plus the inspector's and the runs' own endpoints."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, render_template, request
from flask.typing import ResponseReturnValue

from simulator import personas
from simulator.clock import parse_iso
from simulator.dashboard import inspector
from simulator.dashboard.runs import EXTENSION_KEY as RUNS_KEY
from simulator.dashboard.runs import Runs
from simulator.errors import ApiError, not_found
from simulator.macros import SUB_IDS
from simulator.network.clicks import list_clicks
from simulator.network.deliveries import list_deliveries
from simulator.network.offers import list_offers
from simulator.network.postbacks import list_postbacks
from simulator.network.records import MAX_ROW_ID
from simulator.network.validation import DECIMAL, choice, integer, query
from simulator.platforms import journal
from simulator.services import services

bp = Blueprint(
    "dashboard",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/ui-static",
)
bp.record_once(lambda state: state.app.extensions.setdefault(RUNS_KEY, Runs()))

PAGES = (
    ("dashboard.overview", "Overview"),
    ("dashboard.postbacks", "Advanced > Postbacks"),
    ("dashboard.links", "Links & Promotion"),
    ("dashboard.conversions", "Conversions & deliveries"),
    ("dashboard.inspector_page", "Platform inspector"),
    ("dashboard.runs_page", "Scenario runs"),
)
AD_PLATFORMS = (("meta", "Meta (fbclid)"), ("tiktok", "TikTok (ttclid)"),
                ("google", "Google (gclid)"))
DELIVERY_STATUSES = ("pending", "delivered", "failed")
INSPECTOR_QUERY = {
    "after_id": integer(0, MAX_ROW_ID), "before_id": integer(1, MAX_ROW_ID),
    "limit": integer(1, inspector.PAGE_LIMIT), "platform": choice("", *journal.PLATFORMS),
}


@bp.context_processor
def _navigation() -> dict[str, Any]:
    return {"pages": PAGES}


def _runs() -> Runs:
    return current_app.extensions[RUNS_KEY]


def _base_url() -> str:
    return request.host_url.rstrip("/")


@bp.get("/")
def overview() -> ResponseReturnValue:
    store = services().store
    counts = {
        "offers": store.count("offers"),
        "postbacks": store.count("postbacks"),
        "clicks": store.count("clicks"),
        "conversions": store.count("conversions"),
        "deliveries": store.count("deliveries"),
        "failed deliveries": store.count("deliveries", status="failed"),
        "platform requests": store.count("journal"),
    }
    return render_template("overview.html", counts=counts)


@bp.get("/advanced/postbacks")
def postbacks() -> ResponseReturnValue:
    """The global postback; the macro picker speaks its network (or `?network=`)."""
    store = services().store
    saved = list_postbacks(store)
    current = next((p for p in saved if p["offer_id"] is None), saved[0] if saved else None)
    try:
        persona = personas.get(request.args.get("network") or (current or {}).get("network"))
    except personas.PersonaError:
        abort(404)
    return render_template("postbacks.html", macros=persona.as_dict()["macros"],
                           persona=persona, networks=personas.all_personas().values(),
                           postback=current, saved=saved, offers=list_offers(store),
                           sub_ids=SUB_IDS)


@bp.get("/links")
def links() -> ResponseReturnValue:
    store = services().store
    offers = list_offers(store)
    offer_id = request.args.get("offer_id", type=int) or (offers[0]["id"] if offers else 1)
    return render_template("links.html", offers=offers, offer_id=offer_id, sub_ids=SUB_IDS,
                           base_url=_base_url(), platforms=AD_PLATFORMS)


def _delivery_filters() -> dict[str, Any]:
    args = request.args
    filters: dict[str, Any] = {}
    if args.get("status") in DELIVERY_STATUSES:
        filters["status"] = args["status"]
    if DECIMAL.fullmatch(args.get("offer_id", "")) and 0 < int(args["offer_id"]) <= MAX_ROW_ID:
        filters["offer_id"] = int(args["offer_id"])
    for name in ("since", "until"):
        if args.get(name):
            try:
                filters[name] = parse_iso(args[name])
            except ValueError:
                continue
    return filters


@bp.get("/conversions")
def conversions() -> ResponseReturnValue:
    store = services().store
    filters = _delivery_filters()
    deliveries, total = list_deliveries(store, filters, limit=50, offset=0)
    clicks, _ = list_clicks(store, {}, limit=10, offset=0)
    return render_template(
        "conversions.html", deliveries=deliveries, total=total, clicks=clicks,
        click=request.args.get("click") or (clicks[0]["unique_click_id"] if clicks else ""),
        offers=list_offers(store), statuses=DELIVERY_STATUSES, args=request.args,
    )


@bp.get("/inspector")
def inspector_page() -> ResponseReturnValue:
    return render_template("inspector.html", platforms=journal.PLATFORMS)


@bp.get("/ui/api/inspector")
def inspector_entries() -> ResponseReturnValue:
    """A page of journal entries, newest first, each judged by the conformance rules: those
    after `after_id` (polling) or before `before_id` (older pages); bodies cut to a preview."""
    args = query(request.args, INSPECTOR_QUERY)
    if args.get("platform") == "":
        args.pop("platform")
    svc = services()
    svc.analyser.settle()
    return inspector.page(svc.store, **args)


@bp.get("/ui/api/inspector/<int:entry_id>")
def inspector_entry(entry_id: int) -> ResponseReturnValue:
    """One journal entry in full (body and events), judged, for the inspector's "show all"."""
    svc = services()
    svc.analyser.settle()
    found = inspector.entry_in_full(svc.store, entry_id)
    if found is None:
        raise not_found("journal entry", entry_id, field="id")
    return found


@bp.get("/runs")
def runs_page() -> ResponseReturnValue:
    try:
        from conformance.scenario import load_catalogue

        catalogue, catalogue_error = load_catalogue(), None
    except Exception as exc:  # the page still works with typed IDs when the catalogue is broken
        catalogue, catalogue_error = [], f"{type(exc).__name__}: {exc}"
    return render_template("runs.html", catalogue=catalogue, catalogue_error=catalogue_error,
                           runs=_runs().all())


@bp.post("/ui/api/runs")
def start_run() -> ResponseReturnValue:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ApiError("the request body must be a JSON object", code="invalid_body")
    text = _string(data, "profile_yaml")
    path = _string(data, "profile_path")
    if not (text or path):
        raise ApiError("give a profile path or paste the profile YAML", code="required",
                       field="profile_path")
    ids = _strings(data, "scenarios")
    sim_url = None if data.get("simulator") == "own" else _base_url()
    run = _runs().start(profile_path=path, profile_text=text, scenario_ids=ids,
                        tags=_strings(data, "tags"), sim_url=sim_url)
    return run.as_dict(), 202


def _string(data: dict[str, Any], name: str) -> str | None:
    """A text field of the run form, stripped; None when absent or blank."""
    value = data.get(name)
    if value is not None and not isinstance(value, str):
        raise ApiError(f"{name}: expected a string", code="invalid_type", field=name)
    return (value or "").strip() or None


def _strings(data: dict[str, Any], name: str) -> list[str]:
    """A list-of-names field of the run form (scenario IDs, tags), blanks dropped."""
    value = data.get(name) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ApiError(f"{name}: expected a list of strings", code="invalid_type", field=name)
    return [v.strip() for v in value if v.strip()]


@bp.get("/ui/api/runs/<int:run_id>")
def run_status(run_id: int) -> ResponseReturnValue:
    run = _runs().get(run_id)
    if run is None:
        raise not_found("run", run_id)
    return run.as_dict()


@bp.get("/runs/<int:run_id>/report")
def run_report(run_id: int) -> ResponseReturnValue:
    """The conformance HTML report of a finished run, as `postback-sim run --html` writes it."""
    from conformance.reporters.html import render_html

    run = _runs().get(run_id)
    if run is None or run.summary is None:
        abort(404)
    return render_html(run.summary)
