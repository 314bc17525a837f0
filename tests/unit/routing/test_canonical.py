"""The canonical request: one reading of the target, as the API server reads it, or a refusal."""

from __future__ import annotations

import pytest

from proxy.errors import BadRequestError
from proxy.routing.canonical import canonicalise, parse_query
from proxy.routing.kind import RequestKind

LIST = "/api/v1/namespaces/ns/configmaps"


@pytest.mark.parametrize(
    "target",
    [
        pytest.param("http://x/api/v1/namespaces", id="absolute-form"),
        pytest.param("https://127.0.0.1:8001/api", id="absolute-form https"),
        pytest.param("api.example:443", id="authority-form"),
        pytest.param("*", id="asterisk-form"),
        pytest.param("/api/v1/namespaces/ns/secrets#x", id="fragment"),
        pytest.param("/api/v1/namespaces/ns/secrets?watch=1#x", id="fragment after the query"),
        pytest.param("/api/v1/namespaces#", id="empty fragment"),
        pytest.param("/api/v1/name spaces", id="raw space"),
        pytest.param("/api/v1/namespaces\x01", id="control character"),
        pytest.param("/api/v1/namespaces\x7f", id="delete character"),
        pytest.param("/api/v1/namespaces/\u00e9", id="raw non-ASCII"),
        pytest.param("/api/v1/namespaces\\..\\secrets", id="backslash"),
        pytest.param("/api/v1/namespaces/%zz", id="malformed escape"),
        pytest.param("/api/v1/namespaces/%4", id="truncated escape"),
        pytest.param("/api/v1/namespaces/%ff", id="escape that is not UTF-8"),
        pytest.param("/api/v1/namespaces/ns/pods/../secrets", id="dot-dot segment"),
        pytest.param("/api/v1/namespaces/ns/./secrets", id="dot segment"),
        pytest.param("/api/v1/namespaces/ns/pods/%2e%2e/secrets", id="escaped dot-dot"),
        pytest.param("/api/v1/namespaces/ns/pods/%2E%2E/secrets", id="upper-case escaped dot-dot"),
        pytest.param("/api/v1/namespaces/ns/pods%2F..%2Fsecrets", id="dot-dot in escaped slashes"),
        pytest.param("/api/v1/namespaces/ns/pods/..", id="trailing dot-dot"),
        pytest.param("//api/v1/namespaces", id="leading double slash"),
        pytest.param("/api/v1//namespaces", id="inner double slash"),
        pytest.param("/api/v1/namespaces/ns/pods/a%2F%2Fb", id="empty segment behind escapes"),
        pytest.param("/api/v1/watch", id="watch with nothing to watch"),
        pytest.param("/apis/apps/v1/proxy", id="proxy with nothing to proxy"),
    ],
)
def test_unreadable_targets_are_refused(target: str) -> None:
    with pytest.raises(BadRequestError):
        canonicalise("GET", target)


@pytest.mark.parametrize(
    ("target", "forwarded", "path"),
    [
        pytest.param(LIST + "?limit=1", LIST + "?limit=1", LIST, id="plain"),
        pytest.param(LIST + "/", LIST + "/", LIST + "/", id="trailing slash kept"),
        pytest.param(LIST + "?", LIST, LIST, id="empty query dropped, as the forwarder drops it"),
        pytest.param("/api/v1/namespaces/ns/secrets%23x", "/api/v1/namespaces/ns/secrets%23x",
                     "/api/v1/namespaces/ns/secrets#x", id="escaped hash is data"),
        pytest.param(LIST + "/a%2Fb", LIST + "/a%2Fb", LIST + "/a/b", id="escaped slash decoded"),
        pytest.param(LIST + "/a+b", LIST + "/a+b", LIST + "/a+b", id="plus is a plus in a path"),
        pytest.param(LIST + "/%61", LIST + "/%61", LIST + "/a", id="escaped letter decoded"),
        pytest.param(LIST + "?x=%zz&y=1", LIST + "?x=%zz&y=1", LIST, id="bad query escape kept"),
    ],
)  # fmt: skip
def test_readable_targets_are_forwarded_byte_for_byte(
    target: str, forwarded: str, path: str
) -> None:
    canonical = canonicalise("GET", target)
    assert (canonical.target, canonical.path) == (forwarded, path)


def test_query_is_read_as_go_reads_it() -> None:
    query = parse_query("a=1&a=2&b=x+y&c=%2B&d;e=3&f=%zz&&g&h=")
    assert query.pairs == (("a", "1"), ("a", "2"), ("b", "x y"), ("c", "+"), ("g", ""), ("h", ""))
    assert query.get("a") == "1", "the first value wins"
    assert query.get("d") is None and query.get("e") is None, "a pair with ; is dropped"
    assert query.get("f") is None, "a pair with a bad escape is dropped"


@pytest.mark.parametrize(
    ("query", "verb"),
    [
        # As recorded from kube-apiserver v1.32 (list-watch-param-* in the corpus).
        ("watch=true", "watch"), ("watch=True", "watch"), ("watch=TRUE", "watch"),
        ("watch=t", "watch"), ("watch=T", "watch"), ("watch=1", "watch"),
        ("watch=yes", "watch"), ("watch=f", "watch"), ("watch", "watch"), ("watch=", "watch"),
        ("watch=0", "list"), ("watch=false", "list"), ("watch=FALSE", "list"),
        ("watch=False", "list"), ("watch=fal%C5%BFe", "list"), ("", "list"),
        ("watch=0&watch=1", "list"), ("watch=1&watch=0", "watch"),
        ("watch;x=1", "list"), ("watch=%31", "watch"), ("wat%63h=1", "watch"),
        ("watch=true;", "list"),
    ],
)  # fmt: skip
def test_watch_spellings_read_as_the_api_server_reads_them(query: str, verb: str) -> None:
    canonical = canonicalise("GET", f"{LIST}?{query}")
    assert canonical.attributes.verb == verb
    assert (canonical.kind is RequestKind.WATCH) is (verb == "watch")


@pytest.mark.parametrize(
    ("value", "expected"),
    [("true", True), ("1", True), ("True", True), ("yes", True), ("false", False),
     ("FALSE", False), ("0", False), ("", True), (None, False)],
)  # fmt: skip
def test_boolean_parameters_read_as_the_api_server_reads_them(
    value: str | None, expected: bool
) -> None:
    """meta/v1's conversion: only absent, `0` and `false` are false; `?follow=` follows."""
    query = parse_query("" if value is None else f"follow={value}")
    assert query.flag("follow") is expected


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("fieldSelector=metadata.name%3Dw1", "w1"),
        ("fieldSelector=metadata.name%3D%3Dw1", "w1"),
        ("fieldSelector=metadata.name%21%3Dw1", ""),
        ("fieldSelector=metadata.namespace%3Dns%2Cmetadata.name%3Dw1", "w1"),
        ("fieldSelector=metadata.name%3Da%2Fb", ""),
        ("fieldSelector=metadata.name%3D..", ""),
        ("fieldSelector=metadata.name%3Dw1&limit=abc", ""),
        ("fieldSelector=metadata.name%3Dw%5C", ""),
        ("fieldSelector=metadata.name%3Dw1%2Cbad", ""),
    ],
)  # fmt: skip
def test_list_of_one_name_by_field_selector(query: str, name: str) -> None:
    assert canonicalise("GET", f"{LIST}?{query}").attributes.name == name
