"""How a resumed watch's query is built, where it resumes, and how a refusal is read."""

from __future__ import annotations

import json

import pytest

from proxy.streams.watch_resume import (
    MAX_REFUSAL_BODY,
    _read_refusal,
    later_version,
    replace_params,
    status_from_answer,
)
from proxy.upstream.memory_transport import MemoryBody


def test_replace_params_keeps_every_other_byte() -> None:
    raw = "labelSelector=app%3Dweb%2Ctier%21%3Ddb&watch=1&resourceVersion=5&x"
    replaced = replace_params(raw, {"resourceVersion": "9", "allowWatchBookmarks": "true"})
    assert replaced == (
        "labelSelector=app%3Dweb%2Ctier%21%3Ddb&watch=1&x&resourceVersion=9&allowWatchBookmarks=true"
    )


def test_replace_params_removes_what_is_none() -> None:
    raw = "watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan"
    assert replace_params(raw, {"sendInitialEvents": None, "resourceVersionMatch": None}) == (
        "watch=1"
    )


@pytest.mark.parametrize(
    ("current", "seen", "expected"),
    [
        pytest.param(None, "5", "5", id="first seen"),
        pytest.param("9", "5", "9", id="initial ADDED events out of order keep the largest"),
        pytest.param("5", "9", "9", id="newer wins"),
        pytest.param("abc", "xyz", "xyz", id="opaque versions: the latest"),
    ],
)
def test_later_version(current: str | None, seen: str, expected: str) -> None:
    assert later_version(current, seen) == expected


def test_status_from_answer_keeps_the_api_servers_status() -> None:
    body = json.dumps({"kind": "Status", "code": 403, "reason": "Forbidden"}).encode()
    assert status_from_answer(403, body)["reason"] == "Forbidden"


def test_status_from_answer_describes_a_body_that_is_not_a_status() -> None:
    status = status_from_answer(502, b"<html>bad gateway</html>")
    assert (status["kind"], status["code"], status["reason"]) == ("Status", 502, "BadGateway")
    assert "bad gateway" in status["message"]


async def test_a_refusal_split_in_transit_is_read_whole() -> None:
    status = b'{"kind":"Status","apiVersion":"v1","code":410,"reason":"Expired"}'
    body = MemoryBody([status[:10], status[10:30], status[30:]], broken_off=False)
    assert status_from_answer(410, await _read_refusal(body))["reason"] == "Expired"


async def test_a_refusal_is_read_no_further_than_its_bound() -> None:
    piece = b"x" * 4096
    body = MemoryBody([piece] * (MAX_REFUSAL_BODY // len(piece) + 10), broken_off=False)
    assert len(await _read_refusal(body)) == MAX_REFUSAL_BODY
