"""`postback-sim demo --network NAME`: the reference receiver passes the catalogue as every network
persona sends it; a scenario is skipped only when the network's Sub ID layout leaves it no room."""

from __future__ import annotations

import pytest

from conformance.demo import demo
from conformance.results import ScenarioFinished, ScenarioResult
from conformance.scenario import load_catalogue
from conformance.sub_layout import layout_for
from simulator import personas

pytestmark = pytest.mark.slow


def may_skip(network: str) -> set[str]:
    """Scenarios about other networks, and those that fill a Sub ID this network's layout keeps
    for a click ID's spill-over."""
    overflow = set(layout_for(personas.get(network)).click_id_overflow)
    return {s.id for s in load_catalogue()
            if s.own_subs & overflow or (s.networks and network not in s.networks)}


@pytest.mark.parametrize("network", personas.names())
def test_the_reference_receiver_passes_the_catalogue_sent_by(network: str) -> None:
    results: dict[str, ScenarioResult] = {
        e.result.id: e.result for e in demo(network=network) if isinstance(e, ScenarioFinished)}
    assert set(results) == {s.id for s in load_catalogue()}
    broken = {i: (r.status, r.error, [f["message"] for f in r.findings][:3])
              for i, r in results.items() if r.status not in ("passed", "skipped")}
    assert not broken
    skipped = {i for i, r in results.items() if r.status == "skipped"}
    assert skipped <= may_skip(network)
