"""The watch endpoint's WebSocket handshake is golang.org/x/net/websocket's: raw refusals
without Content-Type, an Origin that must parse but is never compared with the host, one
subprotocol at most, and the bearer-token subprotocol as a credential."""

from __future__ import annotations

import base64
import json

import aiohttp
import pytest

from proxy.testing import FakeAPIServer
from proxy.testing.websocket_handshake import parse_request_uri_ok
from tests.testing.conftest import ADMIN, ADMIN_TOKEN, raw_exchange, websocket_request

WATCH = "/api/v1/namespaces/default/configmaps?watch=true&timeoutSeconds=1"
BEARER = "base64url.bearer.authorization.k8s.io." + (
    base64.urlsafe_b64encode(ADMIN_TOKEN.encode()).decode().rstrip("=")
)


@pytest.mark.parametrize(
    ("origin", "ok"),
    [
        ("https://evil.example.com", True),
        ("https://127.0.0.1:6443", True),
        ("/relative/path", True),
        ("mailto:someone", True),
        ("<server-origin>", False),
        ("https://<host>:<port>", False),
        ("null", False),
        ("127.0.0.1:6443", False),
        ("", False),
    ],
)
def test_origin_must_be_a_request_uri_as_go_parses_it(origin: str, ok: bool) -> None:
    assert parse_request_uri_ok(origin) is ok


@pytest.mark.parametrize(
    ("headers", "version", "status", "body"),
    [
        pytest.param({}, "13", 403, b"", id="no Origin"),
        pytest.param({"Origin": "<server-origin>"}, "13", 403, b"", id="unparseable Origin"),
        pytest.param({"Origin": "https://a.example"}, "8", 400,
                     b"missing or bad WebSocket Version", id="version 8"),
        pytest.param({"Origin": "https://a.example", "Sec-WebSocket-Protocol": "a, b"}, "13",
                     400, b"", id="two subprotocols"),
    ],
)
async def test_handshake_refusals_are_raw_answers_without_content_type(
    strict_api: FakeAPIServer, headers: dict[str, str], version: str, status: int, body: bytes
) -> None:
    request = websocket_request(strict_api, WATCH, {**ADMIN, **headers}, version=version)
    answer = await raw_exchange(strict_api, request)
    assert (answer.status, answer.body) == (status, body)
    assert "content-type" not in answer.headers
    assert "cache-control" not in answer.headers


async def test_foreign_origin_and_unknown_subprotocol_are_accepted(
    strict_api: FakeAPIServer, strict_session: aiohttp.ClientSession
) -> None:
    strict_api.store.create("configmaps", {"metadata": {"name": "a"}}, namespace="default")
    async with strict_session.ws_connect(
        WATCH, headers=ADMIN, origin="https://evil.example.com", protocols=("foo.example.com",)
    ) as ws:
        assert ws.protocol == "foo.example.com"
        first = await ws.receive(timeout=5)
        closing = await ws.receive(timeout=5)
    assert first.type == aiohttp.WSMsgType.TEXT
    assert json.loads(first.data)["object"]["metadata"]["name"] == "a"
    assert closing.type == aiohttp.WSMsgType.CLOSE and closing.data == 1000


async def test_bearer_subprotocol_authenticates_and_is_not_echoed(
    strict_session: aiohttp.ClientSession,
) -> None:
    async with strict_session.ws_connect(
        WATCH, origin="https://a.example", protocols=(BEARER, "binary.k8s.io")
    ) as ws:
        assert ws.protocol == "binary.k8s.io"


async def test_bearer_subprotocol_alone_is_401(strict_session: aiohttp.ClientSession) -> None:
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        async with strict_session.ws_connect(WATCH, origin="https://a.example",
                                             protocols=(BEARER,)):
            pass
    assert refused.value.status == 401


async def test_forbidden_watch_is_a_status_before_the_handshake(
    strict_api: FakeAPIServer,
) -> None:
    request = websocket_request(strict_api, WATCH, {"Origin": "https://a.example"})
    answer = await raw_exchange(strict_api, request)
    assert answer.status == 403
    assert answer.headers["content-type"] == "application/json"
    assert json.loads(answer.body)["reason"] == "Forbidden"
