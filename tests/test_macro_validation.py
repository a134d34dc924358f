"""Template validation: errors with positions, warnings that do not block saving, suggestions."""

from __future__ import annotations

from typing import Any

import pytest

from simulator.macros import validate_template

GOOD = "https://yourserver.com/postback?click_id={sub1}&payout={payout_amount}&txn={conversion_id}"


def codes(problems: list[Any]) -> list[tuple[str, int | None]]:
    return [(p.code, p.position) for p in problems]


def test_the_seed_example_url_is_valid_without_warnings() -> None:
    result = validate_template(GOOD)
    assert result.ok
    assert result.as_dict() == {"errors": [], "warnings": []}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("yourserver.com/pb?c={sub1}", [("invalid_scheme", 0)]),
        ("ftp://yourserver.com/pb?c={sub1}", [("invalid_scheme", 0)]),
        ("https://x.com/pb?c={sub1", [("unclosed_brace", 19)]),
        ("https://x.com/pb?c=sub1}", [("unmatched_brace", 23)]),
        ("https://x.com/pb?c={{sub1}}", [("nested_brace", 20), ("unmatched_brace", 26)]),
        ("https://x.com/pb?c={}", [("empty_macro", 19)]),
        ("https://x.com/pb?c={sub1}&d={sub_1}", [("unknown_macro", 28)]),
        ("https://x.com/pb?c={sub1} x", [("invalid_character", 25)]),
        ("https://", [("missing_host", None)]),
        ("https://x.com:port/pb?c={sub1}", [("unparseable_url", None)]),
        ("https://[::1/pb?c={sub1}", [("unparseable_url", None)]),
    ],
    ids=[
        "no-scheme", "ftp-scheme", "unclosed", "unmatched-close", "nested", "empty-macro",
        "misspelled", "space", "no-host", "bad-port", "bad-ipv6",
    ],
)
def test_template_errors_are_reported_with_their_position(
    template: str, expected: list[tuple[str, int | None]]
) -> None:
    assert codes(validate_template(template).errors) == expected


@pytest.mark.parametrize(
    ("name", "suggestion"),
    [
        ("sub_1", "sub1"),
        ("SUB1", "sub1"),
        ("payout", "payout_amount"),
        ("conversionid", "conversion_id"),
        ("click_id", "unique_click_id"),
        ("country_code", "geo_country_code"),
        ("user-agent", "user_agent"),
    ],
    ids=["underscore", "uppercase", "short", "no-underscore", "partial", "prefix", "dash"],
)
def test_an_unknown_macro_suggests_the_closest_known_one(name: str, suggestion: str) -> None:
    (problem,) = validate_template(f"https://x.com/pb?c={{sub1}}&v={{{name}}}").errors
    assert problem.code == "unknown_macro"
    assert f"{{{name}}}" in problem.message
    assert f"did you mean {{{suggestion}}}?" in problem.message


def test_an_unknown_macro_unlike_any_other_gets_no_suggestion() -> None:
    (problem,) = validate_template("https://x.com/pb?c={sub1}&v={zzzzzz}").errors
    assert "did you mean" not in problem.message


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("http://x.com/pb?c={sub1}", [("insecure_scheme", 0)]),
        ("https://x.com/pb?c={sub1}#frag={sub2}", [("fragment_not_sent", 25)]),
        ("https://x.com/pb?txn={conversion_id}", [("no_sub_id", None)]),
    ],
    ids=["plain-http", "fragment", "no-sub-id"],
)
def test_template_warnings_do_not_block_saving(
    template: str, expected: list[tuple[str, int | None]]
) -> None:
    result = validate_template(template)
    assert result.ok
    assert codes(result.warnings) == expected


@pytest.mark.parametrize(
    "template",
    [
        "https://x.com/pb/{sub1}/{conversion_id}",
        "https://x.com/pb?c={sub1}",
        "https://{sub2}.x.com/pb?c={sub1}",
        "HTTPS://x.com:8443/pb?c={sub1}&when={datetime}",
        "https://127.0.0.1:9000/postback?click_id={sub1}&source={sub2}&payout={payout_amount}"
        "&currency={offer_currency}&txn={conversion_id}&ts={timestamp}&ip={user_ip}&ua={user_agent}",
    ],
    ids=["path", "query", "host", "uppercase-scheme-and-port", "design-profile"],
)
def test_macros_are_allowed_anywhere_in_the_url(template: str) -> None:
    assert validate_template(template).errors == []


def test_validation_result_serialises_for_the_api() -> None:
    assert validate_template("http://x.com/pb?c={sub_1}").as_dict() == {
        "errors": [
            {
                "code": "unknown_macro",
                "message": "unknown macro {sub_1} at position 18: did you mean {sub1}?",
                "position": 18,
            }
        ],
        "warnings": [
            {
                "code": "insecure_scheme",
                "message": "use an HTTPS endpoint (the network recommends HTTPS)",
                "position": 0,
            },
            {
                "code": "no_sub_id",
                "message": "no Sub ID macro ({sub1}..{sub5}): the receiver cannot match the "
                "conversion to its click ID",
                "position": None,
            },
        ],
    }
