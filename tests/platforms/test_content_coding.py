"""content_coding: gzip undone within a bound; anything else refused with the right status."""

from __future__ import annotations

import gzip

import pytest
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge

from simulator.platforms.content_coding import UnsupportedContentCoding, codings, decode, gunzip


def test_codings_lists_the_codings_applied_without_identity():
    assert codings("identity, GZip ") == ["gzip"]
    assert codings(None) == []


def test_gunzip_reads_every_member_of_a_multi_member_body():
    assert gunzip(gzip.compress(b"ab") + gzip.compress(b"cd"), 10) == b"abcd"


def test_gunzip_stops_one_byte_past_the_limit():
    assert gunzip(gzip.compress(b"x" * 10), 10) == b"x" * 10
    with pytest.raises(RequestEntityTooLarge):
        gunzip(gzip.compress(b"x" * 11), 10)


@pytest.mark.parametrize("data", [gzip.compress(b"abc")[:-4], b"", b"plain"],
                         ids=["truncated", "empty", "not-gzip"])
def test_gunzip_refuses_a_body_that_is_not_whole_gzip(data):
    with pytest.raises(BadRequest):
        gunzip(data, 100)


def test_decode_refuses_a_coding_the_platform_does_not_take():
    with pytest.raises(UnsupportedContentCoding) as caught:
        decode(gzip.compress(b"{}"), "gzip", (), 100)
    assert ("Accept-Encoding", "identity") in caught.value.get_headers()
