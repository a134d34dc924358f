"""The profile's `network:` and `--network`: the postback URL rewritten in the network's macros."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from conformance.cli import main
from conformance.profile import ProfileError, profile_from_mapping

URL = "http://127.0.0.1:9000/postback?click_id={sub1}&source={sub2}&txn={conversion_id}"


def profile(**extra: object):
    return profile_from_mapping({"postback_url": URL, "platforms": {"meta": {"pixel_id": "1"}},
                                 **extra})


def test_the_default_network_keeps_the_url_as_written() -> None:
    assert profile().network == "inflektion"
    assert profile().network_postback_url == URL


def test_a_network_with_statuses_gets_its_macros_and_a_status_parameter() -> None:
    impact = profile(network="impact")
    assert impact.network_postback_url == (
        "http://127.0.0.1:9000/postback?click_id={SubId1}&source={SubId2}&txn={ActionId}"
        "&status={Status}")


def test_network_on_the_command_line_overrides_the_profile() -> None:
    assert profile(network="impact").with_network("cake").network_postback_url.startswith(
        "http://127.0.0.1:9000/postback?click_id=#s1#&source=#s2#")


def test_an_unknown_network_is_a_one_line_profile_error() -> None:
    with pytest.raises(ProfileError, match="network: unknown network 'nope'; known: cake"):
        profile(network="nope")
    with pytest.raises(ProfileError, match="--network: unknown network 'x'"):
        profile().with_network("x")


def test_networks_lists_every_persona() -> None:
    result = CliRunner().invoke(main, ["networks"])
    assert result.exit_code == 0
    names = [line.split()[0] for line in result.output.splitlines() if not line.startswith(" ")]
    assert names == ["cake", "everflow", "impact", "inflektion", "keitaro", "tune"]
    assert "disabled after 10 failures" in result.output
