"""The partner network's JSON API: offers, postbacks, links, clicks, conversions, deliveries.

Views parse (validation.py, against the OpenAPI fragment's schemas), call a domain function and
return; every shape is described in `simulator/network/openapi.json`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, request
from flask.typing import ResponseReturnValue

from simulator import macros, personas
from simulator.errors import ApiError
from simulator.idempotency import idempotent
from simulator.macros import SUB_IDS
from simulator.network import (
    clicks,
    conversions,
    deliveries,
    links,
    offers,
    postbacks,
)
from simulator.network.moments import resolve_moment
from simulator.network.validation import (
    DEFAULT_LIMIT,
    PAGINATION,
    boolean,
    choice,
    integer,
    json_body,
    moment,
    query,
    text,
)
from simulator.services import services

bp = Blueprint("api", __name__, url_prefix="/api")

OFFER_FILTER = {"offer_id": integer(1)}


def _page(key: str, filters: dict[str, Any], lister: Callable[..., tuple[list, int]]) -> dict:
    """One page of a filtered listing: `{key: rows, total, limit, offset}`."""
    params = query(request.args, filters)
    limit, offset = params.pop("limit", DEFAULT_LIMIT), params.pop("offset", 0)
    rows, total = lister(services().store, params, limit, offset)
    return {key: rows, "total": total, "limit": limit, "offset": offset}


# -- offers ----------------------------------------------------------------------------------

@bp.get("/offers")
def list_offers() -> ResponseReturnValue:
    query(request.args, {})
    return {"offers": offers.list_offers(services().store)}


@bp.post("/offers")
@idempotent
def create_offer() -> ResponseReturnValue:
    svc = services()
    return offers.create_offer(svc.store, svc.clock, json_body("OfferCreate")), 201


@bp.get("/offers/<int:offer_id>")
def get_offer(offer_id: int) -> ResponseReturnValue:
    return offers.get_offer(services().store, offer_id)


@bp.patch("/offers/<int:offer_id>")
def update_offer(offer_id: int) -> ResponseReturnValue:
    return offers.update_offer(services().store, offer_id, json_body("OfferUpdate"))


# -- postbacks -------------------------------------------------------------------------------

@bp.get("/postbacks")
def list_postbacks() -> ResponseReturnValue:
    params = query(request.args, OFFER_FILTER)
    return {"postbacks": postbacks.list_postbacks(services().store, params.get("offer_id"))}


@bp.post("/postbacks")
@idempotent
def create_postback() -> ResponseReturnValue:
    svc = services()
    return postbacks.create_postback(svc.store, svc.clock, json_body("PostbackCreate")), 201


@bp.get("/postbacks/<int:postback_id>")
def get_postback(postback_id: int) -> ResponseReturnValue:
    return postbacks.present(postbacks.get_postback(services().store, postback_id))


@bp.patch("/postbacks/<int:postback_id>")
def update_postback(postback_id: int) -> ResponseReturnValue:
    svc = services()
    values = json_body("PostbackUpdate")
    return postbacks.update_postback(svc.store, svc.clock, postback_id, values)


@bp.delete("/postbacks/<int:postback_id>")
def delete_postback(postback_id: int) -> ResponseReturnValue:
    postbacks.delete_postback(services().store, postback_id)
    return "", 204


@bp.post("/postbacks/validate")
def validate_postback() -> ResponseReturnValue:
    values = json_body("PostbackValidate")
    result = macros.validate_template(values["url"], offers.persona_of(values.get("network")))
    return {"valid": result.ok, **result.as_dict()}


@bp.post("/postbacks/test")
@idempotent
def test_postback() -> ResponseReturnValue:
    svc = services()
    values = json_body("PostbackTest", allow_empty=True)
    conversion = conversions.fire_test_conversion(
        svc.store, svc.clock, svc.faker, svc.delivery,
        offer_id=values.get("offer_id"),
        postback_id=values.get("postback_id"),
        subs={name: values[name] for name in SUB_IDS if name in values},
    )
    return conversion, 201


@bp.get("/macros")
def list_macros() -> ResponseReturnValue:
    params = query(request.args, {"network": text(64)})
    persona = _persona_or_404(params.get("network"))
    return {"network": persona.name,
            "macros": [{"name": m.name, "placeholder": persona.placeholder(m.name),
                        "description": m.description, "value": m.value,
                        "encoding": m.encoding} for m in persona.macros]}


@bp.get("/networks")
def list_networks() -> ResponseReturnValue:
    query(request.args, {})
    return {"default": personas.DEFAULT,
            "networks": [p.as_dict() for p in personas.all_personas().values()]}


@bp.get("/networks/<name>")
def get_network(name: str) -> ResponseReturnValue:
    return _persona_or_404(name).as_dict()


def _persona_or_404(name: str | None) -> personas.Persona:
    try:
        return personas.get(name)
    except personas.PersonaError as exc:
        raise ApiError(str(exc), code="not_found", field="network", status=404) from None


# -- links -----------------------------------------------------------------------------------

@bp.get("/links")
def list_links() -> ResponseReturnValue:
    params = query(request.args, OFFER_FILTER)
    return {"links": links.list_links(services().store, request.host_url, params.get("offer_id"))}


@bp.post("/links")
@idempotent
def create_link() -> ResponseReturnValue:
    svc = services()
    values = json_body("LinkCreate", allow_empty=True)
    subs = {name: values[name] for name in SUB_IDS if name in values}
    link = links.create_link(svc.store, svc.clock, request.host_url,
                             values.get("offer_id", 1), subs)
    return link, 201


@bp.get("/links/<int:link_id>")
def get_link(link_id: int) -> ResponseReturnValue:
    return links.get_link(services().store, request.host_url, link_id)


# -- clicks ----------------------------------------------------------------------------------

CLICK_FILTERS = {"offer_id": integer(1), "sub": text(), **{s: text() for s in SUB_IDS},
                 "is_test": boolean, **PAGINATION}


@bp.get("/clicks")
def list_clicks() -> ResponseReturnValue:
    return _page("clicks", CLICK_FILTERS, clicks.list_clicks)


@bp.post("/clicks")
@idempotent
def create_click() -> ResponseReturnValue:
    svc = services()
    values = json_body("ClickCreate", allow_empty=True)
    click = clicks.ClickInput(
        offer_id=values.get("offer_id", 1),
        subs={name: values[name] for name in SUB_IDS if name in values},
        ip=values.get("ip"),
        user_agent=values.get("user_agent"),
        country=values.get("country"),
        at=resolve_moment(svc.clock, values),
    )
    return clicks.record_click(svc.store, svc.clock, svc.faker, click), 201


@bp.get("/clicks/<click>")
def get_click(click: str) -> ResponseReturnValue:
    return clicks.present(clicks.get_click(services().store, click))


# -- conversions -----------------------------------------------------------------------------

CONVERSION_FILTERS = {"click": text(64), "offer_id": integer(1),
                      "kind": choice("conversion", "event"),
                      "status": choice("approved", "pending", "rejected", "reversed"),
                      "is_test": boolean, **PAGINATION}


@bp.get("/conversions")
def list_conversions() -> ResponseReturnValue:
    return _page("conversions", CONVERSION_FILTERS, conversions.list_conversions)


@bp.post("/conversions")
@idempotent
def create_conversion() -> ResponseReturnValue:
    svc = services()
    values = json_body("ConversionCreate")
    data = conversions.ConversionInput(
        click=values.get("click"),
        parent=values.get("conversion"),
        # Naming a parent conversion makes the request a post-conversion event.
        kind=values.get("kind", "event" if "conversion" in values else "conversion"),
        event_name=values.get("event_name"),
        payout=values.get("payout"),
        currency=values.get("currency"),
        status=values.get("status", "approved"),
        ip=values.get("ip"),
        user_agent=values.get("user_agent"),
        at=resolve_moment(svc.clock, values),
    )
    return conversions.record_conversion(svc.store, svc.clock, svc.delivery, data), 201


@bp.patch("/conversions/<conversion>")
def update_conversion(conversion: str) -> ResponseReturnValue:
    svc = services()
    status = json_body("ConversionUpdate")["status"]
    return conversions.set_status(svc.store, svc.clock, svc.delivery, conversion, status)


@bp.get("/conversions/<conversion>")
def get_conversion(conversion: str) -> ResponseReturnValue:
    store = services().store
    return conversions.present(store, conversions.get_conversion(store, conversion))


# -- deliveries ------------------------------------------------------------------------------

DELIVERY_FILTERS = {"status": choice("pending", "delivered", "failed"), "offer_id": integer(1),
                    "conversion_id": text(64), "since": moment, "until": moment, **PAGINATION}


@bp.get("/deliveries")
def list_deliveries() -> ResponseReturnValue:
    return _page("deliveries", DELIVERY_FILTERS, deliveries.list_deliveries)


@bp.get("/deliveries/<int:delivery_id>")
def get_delivery(delivery_id: int) -> ResponseReturnValue:
    return deliveries.get_delivery(services().store, delivery_id)


@bp.post("/deliveries/<int:delivery_id>/replay")
@idempotent
def replay_delivery(delivery_id: int) -> ResponseReturnValue:
    svc = services()
    return deliveries.replay(svc.store, svc.delivery, delivery_id), 201


@bp.post("/deliveries/<int:delivery_id>/retry")
def retry_delivery(delivery_id: int) -> ResponseReturnValue:
    svc = services()
    return deliveries.retry(svc.store, svc.clock, svc.delivery, delivery_id)
