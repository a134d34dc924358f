"""The receiver profile: valid files load with defaults; mistakes get one line with the key path."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.paths import PROFILES
from conformance.profile import DEFAULT_SOURCES, ProfileError, load_profile, profile_from_mapping

URL = "http://127.0.0.1:9000/postback?click_id={sub1}&source={sub2}&txn={conversion_id}"


def minimal(**changes: object) -> dict[str, object]:
    data: dict[str, object] = {"postback_url": URL, "platforms": {"meta": {"pixel_id": "1"}}}
    data.update(changes)
    return data


def test_minimal_profile_gets_the_documented_defaults() -> None:
    profile = profile_from_mapping(minimal())
    assert profile.click_id_sub == "sub1"
    assert profile.source_sub is None
    assert profile.sources == dict(DEFAULT_SOURCES)
    assert profile.settle_seconds == 1.0
    assert profile.tests("meta")
    assert not profile.tests("tiktok")


def test_design_key_google_is_read_as_google_ads() -> None:
    profile = profile_from_mapping(minimal(sources={"google": "adwords", "meta": "fb"}))
    assert profile.source_value("google_ads") == "adwords"
    assert profile.source_value("meta") == "fb"
    assert profile.source_value("datamanager") == "google-dm"


def test_receiver_address_comes_from_the_postback_url() -> None:
    assert profile_from_mapping(minimal()).receiver_address == ("127.0.0.1", 9000)
    https = profile_from_mapping(minimal(postback_url="https://hooks.example.com/pb?t={sub1}"))
    assert https.receiver_address == ("hooks.example.com", 443)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (minimal(platforms={"meta": {}}), "receiver.yaml: platforms.meta.pixel_id: required"),
        (minimal(platforms={"google_ads": {"customer_id": "1"}}),
         "receiver.yaml: platforms.google_ads.conversion_action_id: required"),
        (minimal(platforms={"meta": {"pixel_id": "1", "token": "x"}}),
         "receiver.yaml: platforms.meta.token: unknown key"),
        (minimal(platforms={"snapchat": {"id": "1"}}),
         "receiver.yaml: platforms.snapchat: unknown key"),
        (minimal(platfroms={}), "receiver.yaml: platfroms: unknown key"),
        ({"platforms": {"meta": {"pixel_id": "1"}}}, "receiver.yaml: postback_url: required"),
        (minimal(click_id_sub="sub9"),
         "receiver.yaml: click_id_sub: must be one of sub1, sub2, sub3, sub4, sub5, got 'sub9'"),
        (minimal(source_sub="sub1"),
         "receiver.yaml: source_sub: must differ from click_id_sub (sub1)"),
    ],
    ids=["missing-pixel-id", "missing-conversion-action", "unknown-platform-key",
         "unknown-platform", "misspelt-top-level-key", "missing-postback-url",
         "bad-sub-slot", "same-slot-twice"],
)
def test_profile_mistakes_are_one_line_naming_the_key(data: dict, message: str) -> None:
    with pytest.raises(ProfileError) as caught:
        profile_from_mapping(data, source="receiver.yaml")
    assert str(caught.value) == message
    assert "\n" not in str(caught.value)


def test_non_http_postback_url_is_refused() -> None:
    with pytest.raises(ProfileError, match=r"^receiver.yaml: postback_url: "):
        profile_from_mapping(minimal(postback_url="ftp://x/"), source="receiver.yaml")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("postback_url: [unclosed\n", r"^receiver.yaml: line \d+: "),
        ("", r"^receiver.yaml: empty profile$"),
        ("- a list\n", r"^receiver.yaml: "),
    ],
    ids=["bad-yaml", "empty", "not-a-mapping"],
)
def test_unreadable_profile_files_get_one_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "receiver.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ProfileError, match=message):
        load_profile(path)


def test_missing_profile_file_names_it(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match=r"^nope.yaml: cannot read"):
        load_profile(tmp_path / "nope.yaml")


@pytest.mark.parametrize("path", sorted(PROFILES.glob("*.yaml")), ids=lambda p: p.stem)
def test_bundled_sample_profiles_are_valid(path: Path) -> None:
    assert load_profile(path).platforms
