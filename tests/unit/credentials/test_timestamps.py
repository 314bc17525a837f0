"""The one RFC 3339 parser that exec plugins and TokenRequest share."""

from __future__ import annotations

import pytest

from proxy.credentials.timestamps import parse_rfc3339

EPOCH_2030 = 1893456000.0


@pytest.mark.parametrize("text", [
    pytest.param("2030-01-01T00:00:00Z", id="zulu"),
    pytest.param("2030-01-01T01:00:00+01:00", id="offset"),
    pytest.param("2030-01-01T00:00:00.000Z", id="fractional seconds"),
    pytest.param("2030-01-01T00:00:00", id="no zone is UTC"),
])
def test_parse_rfc3339_accepts_the_spellings(text: str) -> None:
    assert parse_rfc3339(text) == EPOCH_2030


@pytest.mark.parametrize("text", ["", "garbage", "2030-13-01T00:00:00Z"])
def test_parse_rfc3339_returns_none_for_what_is_not_a_time(text: str) -> None:
    assert parse_rfc3339(text) is None
