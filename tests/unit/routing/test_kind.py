"""A request's kind, read once from the canonical request: REST, watch, WebSocket watch, upgrade."""

from __future__ import annotations

import pytest

from proxy.routing.canonical import canonicalise
from proxy.routing.kind import RequestKind, is_watch_request, upgrade_protocol

LIST = "/api/v1/namespaces/ns/configmaps"


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        pytest.param({"Connection": "Upgrade", "Upgrade": "websocket"}, "websocket", id="ws"),
        pytest.param({"Connection": "Upgrade", "Upgrade": "SPDY/3.1"}, "SPDY/3.1", id="spdy"),
        pytest.param(
            {"Connection": "keep-alive, upgrade", "Upgrade": "WebSocket"},
            "WebSocket",
            id="token in a list, any case",
        ),
        pytest.param({"Connection": "Upgrade", "Upgrade": "h2c"}, None, id="h2c does not count"),
        pytest.param({"Upgrade": "websocket"}, None, id="Upgrade without Connection"),
        pytest.param({"Connection": "keep-alive"}, None, id="plain request"),
    ],
)
def test_upgrade_protocol(headers: dict[str, str], expected: str | None) -> None:
    assert upgrade_protocol(headers) == expected


@pytest.mark.parametrize(
    ("method", "target", "upgrade", "kind"),
    [
        pytest.param("GET", LIST + "?watch=1", None, RequestKind.WATCH, id="chunked watch"),
        pytest.param("GET", LIST + "?watch=1", "websocket", RequestKind.WEBSOCKET_WATCH,
                     id="websocket watch"),
        pytest.param("GET", LIST + "?watch=1", "SPDY/3.1", RequestKind.UPGRADE,
                     id="spdy is spliced"),
        pytest.param("GET", "/api/v1/watch/namespaces/ns/configmaps", None, RequestKind.WATCH,
                     id="legacy watch path"),
        pytest.param("GET", "/api/v1/watch/namespaces/ns/configmaps/w1", None, RequestKind.WATCH,
                     id="legacy watch of one object"),
        pytest.param("GET", LIST + "/w1?watch=true", None, RequestKind.REST,
                     id="watch param on one object is a get"),
        pytest.param("GET", "/version?watch=1", None, RequestKind.REST, id="non-resource"),
        pytest.param("POST", LIST + "?watch=1", None, RequestKind.REST, id="only GET watches"),
        pytest.param("HEAD", LIST + "?watch=1", None, RequestKind.REST, id="HEAD is no watch"),
        pytest.param("GET", "/api/v1/namespaces/ns/pods/p/exec?command=ls", "websocket",
                     RequestKind.UPGRADE, id="websocket exec"),
    ],
)  # fmt: skip
def test_kind(method: str, target: str, upgrade: str | None, kind: RequestKind) -> None:
    assert canonicalise(method, target, upgrade=upgrade).kind is kind


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
