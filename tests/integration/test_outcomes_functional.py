"""Counted as the client saw it: the status it received, and who ended the exchange."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from proxy.config import SecurityConfig
from proxy.testing import FakeAPIServer, write_kubeconfig
from tests.conftest import eventually
from tests.integration.conftest import RunningProxy, StartProxy, raw_request

WATCH = "/api/v1/namespaces/default/configmaps?watch=1"


def samples(metrics: str, name: str, **labels: str) -> float:
    """The sum of the samples of `name` whose labels include `labels`."""
    total = 0.0
    for line in metrics.splitlines():
        if line.startswith(name + "{"):
            found = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}")[0]))
            if all(found.get(k) == v for k, v in labels.items()):
                total += float(line.rsplit(" ", 1)[1])
    return total


async def scrape(client: aiohttp.ClientSession, proxy: RunningProxy) -> str:
    async with client.get(f"{proxy.url}/-/metrics") as response:
        return await response.text()


@pytest.fixture
def logged(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="proxy.access")
    return caplog


def audit_lines(audit_log: Path) -> list[dict[str, object]]:
    """What `--audit-log` wrote (its lines go to the file alone)."""
    text = audit_log.read_text() if audit_log.exists() else ""
    return [json.loads(line) for line in text.splitlines()]


def access_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "proxy.access"]


@pytest.mark.parametrize("watch_resume", [False, True], ids=["forwarded", "resumed"])
async def test_chunked_watch_closed_by_the_client_is_a_200_client_closed(
    apiserver: FakeAPIServer,
    start_proxy: StartProxy,
    admin_kubeconfig: Path,
    client: aiohttp.ClientSession,
    logged: pytest.LogCaptureFixture,
    tmp_path: Path,
    watch_resume: bool,
) -> None:
    proxy = await start_proxy(
        admin_kubeconfig, watch_resume=watch_resume,
        security=SecurityConfig(audit_log=tmp_path / "audit.log"),
    )
    watch = await client.get(f"{proxy.url}{WATCH}")
    assert watch.status == 200
    async with asyncio.timeout(5):
        await apiserver.wait_open_streams(1)
    watch.close()
    await eventually(lambda: bool(audit_lines(tmp_path / "audit.log")))
    [audit] = audit_lines(tmp_path / "audit.log")
    assert (audit["code"], audit["outcome"]) == (200, "client_closed")
    [access] = access_lines(logged)
    assert re.search(r" 200 \d+B [\d.]+ms outcome=client_closed$", access), access
    text = await scrape(client, proxy)
    assert samples(text, "kube_auth_proxy_requests_total", verb="watch", code="200",
                   resource="configmaps", outcome="client_closed") == 1
    assert samples(text, "kube_auth_proxy_requests_total", code="500") == 0
    assert samples(text, "kube_auth_proxy_open_streams", kind="watch") == 0


async def test_websocket_watch_closed_by_the_client_is_a_101_client_closed(
    apiserver: FakeAPIServer,
    proxy: RunningProxy,
    client: aiohttp.ClientSession,
    logged: pytest.LogCaptureFixture,
) -> None:
    async with client.ws_connect(f"{proxy.url}{WATCH}", protocols=("binary.k8s.io",)) as ws:
        async with asyncio.timeout(5):
            await apiserver.wait_open_streams(1)
        await ws.close()
    await eventually(lambda: bool(access_lines(logged)))
    [access] = access_lines(logged)
    assert re.search(r" 101 \d+B [\d.]+ms outcome=client_closed$", access), access
    text = await scrape(client, proxy)
    assert samples(text, "kube_auth_proxy_requests_total", verb="watch", code="101",
                   resource="configmaps", outcome="client_closed") == 1
    assert samples(text, "kube_auth_proxy_open_streams", kind="websocket") == 0


async def test_websocket_watch_dropped_by_the_client_is_a_101_client_closed(
    apiserver: FakeAPIServer, proxy: RunningProxy, logged: pytest.LogCaptureFixture
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    writer.write(
        f"GET {WATCH} HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\n"
        "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n".encode()
    )
    async with asyncio.timeout(5):
        assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 101")
        await apiserver.wait_open_streams(1)
    writer.transport.abort()  # no close frame: the connection just goes
    await eventually(lambda: bool(access_lines(logged)))
    [access] = access_lines(logged)
    assert re.search(r" 101 \d+B [\d.]+ms outcome=client_closed$", access), access


@contextlib.asynccontextmanager
async def breaking_upstream() -> AsyncIterator[int]:
    """A plain-HTTP API server that promises 1000 bytes, sends 9, and hangs up."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                         b"Content-Length: 1000\r\n\r\n{\"kind\":")
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


async def test_upstream_breaking_off_mid_body_is_upstream_closed(
    start_proxy: StartProxy,
    client: aiohttp.ClientSession,
    logged: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    async with breaking_upstream() as port:
        kubeconfig = write_kubeconfig(
            tmp_path / "k", server=f"http://127.0.0.1:{port}", token="t"
        )
        proxy = await start_proxy(kubeconfig, security=SecurityConfig(audit_log=tmp_path / "a"))
        request = b"GET /api/v1/namespaces HTTP/1.1\r\nHost: localhost\r\n\r\n"
        with pytest.raises(asyncio.IncompleteReadError):
            await raw_request(proxy.port, request)
        await eventually(lambda: bool(audit_lines(tmp_path / "a")))
        [audit] = audit_lines(tmp_path / "a")
        assert (audit["code"], audit["outcome"]) == (200, "upstream_closed")
        text = await scrape(client, proxy)
    assert samples(text, "kube_auth_proxy_requests_total", code="200",
                   outcome="upstream_closed") == 1
    assert samples(text, "kube_auth_proxy_requests_total", outcome="client_closed") == 0
