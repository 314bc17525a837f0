"""Which requests are watches, how a resumed watch's query is built, and where it resumes."""

from __future__ import annotations

import json

import pytest

from proxy.routing.canonical import canonicalise
from proxy.streams.watch_resume import (
    is_watch_request,
    later_version,
    query_flag,
    replace_params,
    status_from_answer,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("true", True), ("1", True), ("True", True), ("yes", True), ("false", False),
     ("FALSE", False), ("0", False), ("", False), (None, False)],
)  # fmt: skip
def test_query_flag_reads_as_the_api_server(value: str | None, expected: bool) -> None:
    assert query_flag(value) is expected


@pytest.mark.parametrize(
    ("method", "target", "expected"),
    [
        pytest.param("GET", "/api/v1/pods?watch=true", True, id="watch=true"),
        pytest.param("GET", "/api/v1/pods?watch=1", True, id="watch=1"),
        pytest.param("GET", "/api/v1/pods?watch=false", False, id="watch=false"),
        pytest.param("GET", "/api/v1/watch/pods", True, id="legacy core path"),
        pytest.param("GET", "/apis/apps/v1/watch/deployments", True, id="legacy group path"),
        pytest.param("GET", "/api/v1/namespaces/watch/pods", False, id="namespace named watch"),
        pytest.param("POST", "/api/v1/pods?watch=true", False, id="only GET watches"),
        pytest.param("GET", "/api/v1/namespaces/a/pods/p?watch=1", False, id="one object: a get"),
        pytest.param("GET", "/version?watch=1", False, id="non-resource path"),
    ],
)
def test_is_watch_request(method: str, target: str, expected: bool) -> None:
    assert is_watch_request(canonicalise(method, target)) is expected


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
