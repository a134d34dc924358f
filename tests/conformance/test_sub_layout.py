"""Sub ID layouts of the bundled receivers' profiles: a click ID survives every network whole."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from conformance.profile import ProfileError, profile_from_mapping
from conformance.receiver_process import POSTBACK_QUERY, postback_query, profile_for
from conformance.sub_layout import DEFAULT, layout_for
from simulator import macros, personas
from simulator.platforms.clickids import LONGEST

LONG_TTCLID = "E.C.P." + "aB3-_" * 50
CONVERSION = {"conversion_id": "c1", "payout": 2, "currency": "USD", "ts": 1700000000,
              "ip": "198.18.0.1", "user_agent": "UA/1"}


def test_the_default_layout_is_the_receiver_contract_query() -> None:
    assert postback_query(DEFAULT) == POSTBACK_QUERY
    assert layout_for(personas.get("everflow")) == DEFAULT


def test_cake_keeps_s1_for_the_source_and_gives_the_click_id_room_to_spill() -> None:
    layout = layout_for(personas.get("cake"))
    assert (layout.source_sub, layout.click_id_sub) == ("sub1", "sub2")
    assert layout.click_id_overflow == ("sub3", "sub4")
    assert layout.event_id_sub == "sub5"


@pytest.mark.parametrize("name", personas.names())
@pytest.mark.parametrize("click_id", ["Cj0KCQ-short", "IwAR" + "x" * 146, LONG_TTCLID],
                         ids=["gclid", "fbclid", "ttclid"])
def test_the_receiver_reads_the_click_id_and_source_whole_from_every_network(
    name: str, click_id: str
) -> None:
    assert len(LONG_TTCLID) == LONGEST
    persona = personas.get(name)
    profile = profile_for("http://127.0.0.1:9", network=name)
    click = {sub: "" for sub in macros.SUB_IDS}
    click[profile.click_id_sub] = click_id
    click[profile.source_sub] = "tiktok"
    values = macros.macro_values(CONVERSION, click, None, persona)
    query = parse_qs(urlsplit(macros.expand(profile.network_postback_url, values, persona)).query)
    assert "".join(query["click_id"]) == click_id
    assert query["source"] == ["tiktok"]


def test_overflow_slots_must_be_free_of_the_other_roles() -> None:
    data = profile_for("http://127.0.0.1:9", network="cake").to_dict()
    data["click_id_overflow"] = ["sub3", "sub5"]
    with pytest.raises(ProfileError, match="click_id_overflow: sub5"):
        profile_from_mapping(data)


def test_the_sample_cake_profile_uses_the_cake_layout() -> None:
    from conformance.paths import PROFILES
    from conformance.profile import load_profile

    sample = load_profile(PROFILES / "reference-cake.yaml")
    demo = profile_for("http://127.0.0.1:9000", network="cake")
    assert sample.network == "cake"
    assert sample.postback_url.split("?")[1] == demo.postback_url.split("?")[1]
    assert (sample.click_id_sub, sample.click_id_overflow, sample.source_sub,
            sample.event_id_sub) == (demo.click_id_sub, demo.click_id_overflow, demo.source_sub,
                                     demo.event_id_sub)
