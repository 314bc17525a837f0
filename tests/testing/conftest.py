"""Fixtures for the fake API server's own tests: a running server and clients that trust it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from proxy.testing import FakeAPIServer
from proxy.testing.auth import User
from proxy.testing.rbac import default_policy

TOKEN = "fake-admin-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Keep tests hermetic: no kubeconfig, home or in-cluster settings leak in."""
    for name in ("KUBECONFIG", "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("KUBECACHEDIR", str(tmp_path / "kube-cache"))
    yield


@pytest.fixture
def auth() -> dict[str, str]:
    """Headers authenticating as the server's admin user."""
    return dict(AUTH)


@pytest.fixture
async def api() -> AsyncIterator[FakeAPIServer]:
    async with FakeAPIServer(
        tokens={TOKEN: "admin"}, basic_users={"alice": "s3cret"}, bookmark_interval=0.05
    ) as server:
        yield server


@pytest.fixture
async def session(api: FakeAPIServer) -> AsyncIterator[aiohttp.ClientSession]:
    """A client trusting the server's CA, with no credentials of its own."""
    connector = aiohttp.TCPConnector(ssl=api.client_ssl_context())
    async with aiohttp.ClientSession(base_url=api.url, connector=connector) as client:
        yield client


ADMIN_TOKEN = "recorded-admin-token"
LIMITED_TOKEN = "recorded-limited-token"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
LIMITED = {"Authorization": f"Bearer {LIMITED_TOKEN}"}


@pytest.fixture
async def strict_api() -> AsyncIterator[FakeAPIServer]:
    """The fake set up as the corpus's recorded cluster: anonymous requests allowed, the
    bootstrap RBAC, an admin in system:masters and a user with no rights of its own."""
    tokens: dict[str, str | User] = {
        ADMIN_TOKEN: User("admin-token-user", ("system:masters",), uid="uid-admin"),
        LIMITED_TOKEN: User("limited-user", (), uid="uid-limited"),
    }
    async with FakeAPIServer(
        tokens=tokens,
        rbac=default_policy(),
        anonymous=True,
        api_audiences=("https://kubernetes.default.svc",),
    ) as server:
        yield server


@pytest.fixture
async def strict_session(strict_api: FakeAPIServer) -> AsyncIterator[aiohttp.ClientSession]:
    connector = aiohttp.TCPConnector(ssl=strict_api.client_ssl_context())
    async with aiohttp.ClientSession(base_url=strict_api.url, connector=connector) as client:
        yield client


@dataclass(frozen=True)
class RawAnswer:
    status: int
    headers: dict[str, str]  # names lower-cased
    body: bytes


async def raw_exchange(api: FakeAPIServer, request: bytes) -> RawAnswer:
    """Send bytes as they are (headers aiohttp's client would rewrite, like Connection and
    Upgrade) and read the answer head and whatever body came until the server closed or
    paused."""
    reader, writer = await asyncio.open_connection(
        api.host, api.port, ssl=api.client_ssl_context(), server_hostname=api.host
    )
    try:
        writer.write(request)
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        body = b""
        with contextlib.suppress(TimeoutError, ConnectionError, asyncio.IncompleteReadError):
            length = headers.get("content-length")
            if length is not None:
                body = await asyncio.wait_for(reader.readexactly(int(length)), 5)
        return RawAnswer(int(lines[0].split(" ")[1]), headers, body)
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


def websocket_request(
    api: FakeAPIServer, path: str, headers: dict[str, str], *, version: str = "13"
) -> bytes:
    """A WebSocket upgrade request as bytes, with the headers a browser would send."""
    lines = [
        f"GET {path} HTTP/1.1",
        f"Host: {api.host}:{api.port}",
        "Connection: Upgrade",
        "Upgrade: websocket",
        f"Sec-WebSocket-Version: {version}",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
        *(f"{name}: {value}" for name, value in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()
