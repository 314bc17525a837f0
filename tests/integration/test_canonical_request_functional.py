"""Through the real proxy on raw sockets: what is authorized, filtered and forwarded is one
request, the one the API server receives; what cannot be read as it reads it is a 400 Status."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from proxy.config import SecurityConfig
from proxy.testing import FakeAPIServer
from tests.integration.conftest import RunningProxy, StartProxy, raw_request

POLICY = """
rules:
  - users: [reader]
    scope: read-only
  - users: [ci]
    verbs: [create]
    resources: [serviceaccounts]
  - users: [lister]
    verbs: [list]
    resources: [configmaps]
"""
WS_HEADERS = (
    "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
)


def head(
    target: str, *, method: str = "GET", host: str = "localhost", token: str | None = None,
    extra: str = "",
) -> bytes:
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    return (f"{method} {target} HTTP/1.1\r\nHost: {host}\r\n{auth}{extra}"
            "Content-Length: 0\r\nConnection: close\r\n\r\n").encode()


def forwarded(api: FakeAPIServer, fragment: str) -> list[str]:
    return [r.raw_path for r in api.requests if fragment in r.raw_path]


@pytest.fixture
async def guarded(apiserver: FakeAPIServer, start_proxy: StartProxy, admin_kubeconfig: Path,
                  tmp_path: Path) -> RunningProxy:
    for user in ("reader", "ci", "lister"):
        apiserver.add_token(f"{user}-token", user)
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    return await start_proxy(
        admin_kubeconfig, security=SecurityConfig(authn="tokenreview", policy=policy)
    )


async def test_fragment_cannot_smuggle_secrets_past_a_read_only_policy(
    apiserver: FakeAPIServer, guarded: RunningProxy
) -> None:
    code, body = await raw_request(
        guarded.port, head("/api/v1/namespaces/default/secrets#x", token="reader-token")
    )
    assert code == 400 and json.loads(body)["reason"] == "BadRequest"
    assert not forwarded(apiserver, "secrets")
    code, _ = await raw_request(
        guarded.port, head("/api/v1/namespaces/default/secrets", token="reader-token")
    )
    assert code == 403


async def test_escaped_hash_is_authorized_and_forwarded_as_the_same_request(
    apiserver: FakeAPIServer, guarded: RunningProxy
) -> None:
    await raw_request(
        guarded.port, head("/api/v1/namespaces/default/secrets%23x", token="reader-token")
    )
    assert forwarded(apiserver, "secrets") == ["/api/v1/namespaces/default/secrets%23x"]


@pytest.mark.parametrize(
    ("target", "allowed"),
    [
        ("/api/v1/namespaces/default/serviceaccounts", True),
        ("/api/v1/namespaces/default/serviceaccounts/default/token", False),
        ("/api/v1/namespaces/default/serviceaccounts/default%2Ftoken", False),
    ],
)
async def test_a_resource_rule_does_not_mint_tokens(
    apiserver: FakeAPIServer, guarded: RunningProxy, target: str, allowed: bool
) -> None:
    code, _ = await raw_request(guarded.port, head(target, method="POST", token="ci-token"))
    assert (code != 403) is allowed
    assert bool(forwarded(apiserver, "serviceaccounts")) is allowed


@pytest.mark.parametrize(
    ("query", "watch"),
    [
        ("watch=t", True), ("watch=1", True), ("watch=T", True), ("watch=TRUE", True),
        ("watch=True", True), ("watch=yes", True), ("watch", True),
        ("watch=0", False), ("watch=false", False), ("watch=FALSE", False),
    ],
)  # fmt: skip
async def test_watch_spellings_are_authorized_as_the_api_server_reads_them(
    apiserver: FakeAPIServer, guarded: RunningProxy, query: str, watch: bool
) -> None:
    target = f"/api/v1/namespaces/default/configmaps?{query}"
    code, _ = await raw_request(guarded.port, head(target, token="lister-token"))
    assert code == (403 if watch else 200), "lister may list, not watch"


async def test_legacy_watch_path_is_a_watch(guarded: RunningProxy) -> None:
    code, body = await raw_request(
        guarded.port, head("/api/v1/watch/namespaces/default/configmaps", token="lister-token")
    )
    assert code == 403 and "cannot watch" in json.loads(body)["message"]


@pytest.mark.parametrize(
    "request_bytes",
    [
        pytest.param(head("http://localhost/api/v1/namespaces"), id="absolute-form"),
        pytest.param(head("http://localhost/api/v1/namespaces/default/configmaps?watch=1",
                          extra=WS_HEADERS), id="absolute-form websocket watch"),
        pytest.param(head("http://localhost/api/v1/namespaces/default/pods/p/exec",
                          extra=WS_HEADERS), id="absolute-form upgrade"),
        pytest.param(head("http://localhost/-/metrics"), id="absolute-form own endpoint"),
        pytest.param(head("localhost:443", method="CONNECT"), id="authority-form"),
        pytest.param(head("*", method="OPTIONS"), id="asterisk-form"),
        pytest.param(head("/api/v1/namespaces/default/configmaps#x"), id="fragment"),
        pytest.param(head("/api/v1/namespaces/default/pods/../secrets"), id="dot-dot"),
        pytest.param(head("/api/v1/namespaces/default/pods/%2e%2e/secrets"), id="escaped dot-dot"),
        pytest.param(head("/api/v1//namespaces"), id="double slash"),
        pytest.param(head("/api/v1/namespaces/%zz"), id="bad escape"),
    ],
)  # fmt: skip
async def test_unreadable_targets_are_a_400_status_on_every_path(
    apiserver: FakeAPIServer, proxy: RunningProxy, request_bytes: bytes
) -> None:
    code, body = await raw_request(proxy.port, request_bytes)
    assert code == 400
    assert json.loads(body)["kind"] == "Status"
    assert not apiserver.requests


async def test_lower_case_method_is_not_forwarded(
    apiserver: FakeAPIServer, proxy: RunningProxy
) -> None:
    code, _ = await raw_request(proxy.port, head("/api/v1/namespaces", method="get"))
    assert code == 400
    assert not apiserver.requests


async def test_escaped_slash_is_forwarded_as_sent(
    apiserver: FakeAPIServer, proxy: RunningProxy
) -> None:
    await raw_request(proxy.port, head("/api/v1/namespaces/default/configmaps/a%2Fb"))
    assert forwarded(apiserver, "configmaps") == ["/api/v1/namespaces/default/configmaps/a%2Fb"]


@pytest.mark.parametrize(
    "host",
    ["[::1]evil", "[::1].evil.com:8001", "localhost.evil.com", "127.0.0.1@evil", "localhost.",
     "localhost.:8001", "evil@localhost"],
)  # fmt: skip
async def test_lookalike_hosts_are_refused(
    apiserver: FakeAPIServer, proxy: RunningProxy, host: str
) -> None:
    code, body = await raw_request(proxy.port, head("/api/v1/namespaces", host=host))
    assert code == 403 and json.loads(body)["kind"] == "Status"
    assert not apiserver.requests


@pytest.mark.parametrize(
    "origin", ["http://evil@localhost", "http://localhost@evil", "http://[::1]evil"]
)
async def test_lookalike_origins_cannot_open_a_websocket_watch(
    apiserver: FakeAPIServer, proxy: RunningProxy, origin: str
) -> None:
    target = "/api/v1/namespaces/default/configmaps?watch=1"
    code, _ = await raw_request(
        proxy.port, head(target, extra=WS_HEADERS + f"Origin: {origin}\r\n")
    )
    assert code == 403
    assert not apiserver.requests
