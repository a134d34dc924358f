"""Network personas: data files validated by their schema, and the dialect each one speaks."""

from __future__ import annotations

import pytest
import yaml

from simulator import macros, personas
from simulator.personas import PersonaError

CLICK = {"sub1": "IwAR-x_1", "sub2": "facebook", "sub3": "a&b c", "sub4": "", "sub5": "",
         "unique_click_id": "u1", "country": "US", "offer_id": 1}
CONVERSION = {"conversion_id": "c1", "payout": 12.5, "currency": "USD", "ts": 1700000000,
              "ip": "198.18.0.1", "user_agent": "UA/1", "status": "reversed"}
CANONICAL = "https://r.example/pb?click_id={sub1}&source={sub2}&payout={payout_amount}&txn={conversion_id}"


def expanded(name: str, template: str, click: dict | None = None) -> str:
    persona = personas.get(name)
    values = macros.macro_values(CONVERSION, click or CLICK, {"id": 1}, persona)
    return macros.expand(template, values, persona)


def test_the_six_named_personas_load_and_inflektion_is_the_default() -> None:
    assert personas.names() == ["cake", "everflow", "impact", "inflektion", "keitaro", "tune"]
    assert personas.get(None).name == "inflektion"


def test_the_default_persona_is_the_seed_catalogue() -> None:
    assert personas.get(None).names == macros.MACRO_NAMES
    assert personas.get(None).fires == {"approved"}


@pytest.mark.parametrize("name", ["cake", "everflow", "impact", "inflektion", "keitaro", "tune"])
def test_every_persona_has_a_macro_for_each_value_a_profile_uses(name: str) -> None:
    persona = personas.get(name)
    for value in macros.MACRO_NAMES:
        assert persona.macro_for(value) is not None, value


def test_a_persona_file_with_an_unknown_key_is_refused_with_its_path() -> None:
    data = yaml.safe_load((personas.NETWORKS_DIR / "tune.yaml").read_text())
    data["delivery"]["retries"] = 3
    with pytest.raises(PersonaError, match=r"tune.yaml: delivery: Additional properties"):
        personas.from_mapping(data, "tune.yaml")


def test_an_unknown_network_names_the_known_ones() -> None:
    with pytest.raises(PersonaError, match="unknown network 'nope'; known: cake, everflow"):
        personas.get("nope")


def test_translate_rewrites_the_default_macros_in_each_dialect() -> None:
    assert personas.get("impact").translate(CANONICAL) == (
        "https://r.example/pb?click_id={SubId1}&source={SubId2}&payout={Payout}&txn={ActionId}")
    assert personas.get("cake").translate(CANONICAL) == (
        "https://r.example/pb?click_id=#s1#&source=#s2#&payout=#price#&txn=#leadid#")


def test_impact_substitutes_sub_ids_raw_and_leaves_unknown_macros_literal() -> None:
    url = expanded("impact", "https://r.example/pb?s={SubId3}&u={Sub5}&st={Status}&p={Payout}")
    assert url == "https://r.example/pb?s=a&b%20c&u={Sub5}&st=REVERSED&p=12.5"


def test_keitaro_encodes_by_default_and_the_underscore_form_is_raw() -> None:
    url = expanded("keitaro", "https://r.example/pb?e={sub_id_3}&r={_sub_id_3}&s={status}")
    assert url == "https://r.example/pb?e=a%26b%20c&r=a&b%20c&s=rejected"


def test_cake_hash_macros_and_a_long_s1_spills_over_into_s2() -> None:
    click = {**CLICK, "sub1": "x" * 60}
    url = expanded("cake", "https://r.example/pb?a=#s1#&b=#s2#&t=#utcunixtime#", click)
    assert url == "https://r.example/pb?a=" + "x" * 50 + "&b=" + "x" * 10 + "&t=1700000000"


def test_tune_posts_its_own_macro_names_in_a_body() -> None:
    persona = personas.get("tune")
    values = macros.macro_values(CONVERSION, CLICK, {"id": 1}, persona)
    body = macros.expand_body(values, "form", persona)
    assert body.startswith("aff_sub=IwAR-x_1&aff_sub2=facebook&aff_sub3=a%26b+c")


def test_validation_follows_the_persona() -> None:
    impact = personas.get("impact")
    ok = macros.validate_template("https://r.example/pb?c={SubId1}", impact)
    assert ok.ok
    assert not ok.warnings
    literal = macros.validate_template("https://r.example/pb?c={SubId1}&x={subid1}", impact)
    assert literal.ok
    (warning,) = literal.warnings
    assert warning.code == "unknown_macro"
    assert "did you mean {SubId1}? (macros are case-sensitive)" in warning.message
    refused = macros.validate_template("https://r.example/pb?c={SubId1}")
    assert [p.code for p in refused.errors] == ["unknown_macro"]


def test_a_cake_hash_macro_is_not_a_fragment() -> None:
    result = macros.validate_template("https://r.example/pb?c=#s1#&p=#price#", personas.get("cake"))
    assert result.ok
    assert not result.warnings
