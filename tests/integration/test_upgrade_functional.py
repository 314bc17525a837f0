"""Upgrades passed through: exec over WebSocket against the fake; SPDY and odd answers as bytes."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest
import trustme

from proxy.config import FilterConfig
from proxy.testing import FakeAPIServer
from proxy.testing.pki import build_server_ssl_context
from tests.integration.conftest import RunningProxy, StartProxy

EXEC = "/api/v1/namespaces/default/pods/shell/exec"
V5 = "v5.channel.k8s.io"
NO_REJECTS = FilterConfig(
    accept_hosts=(r"^127\.0\.0\.1$", "^localhost$"),
    accept_paths=("^.*",),
    reject_paths=(),
    reject_methods=(),
)


@pytest.fixture
async def exec_proxy(
    apiserver: FakeAPIServer, start_proxy: StartProxy, admin_kubeconfig: Path
) -> RunningProxy:
    apiserver.run_pod("shell")  # bound to the fake node: its kubelet answers exec
    return await start_proxy(admin_kubeconfig, filter=NO_REJECTS)


def ws_url(proxy: RunningProxy, target: str) -> str:
    return proxy.url.replace("http://", "ws://") + target


async def channel_message(ws: aiohttp.ClientWebSocketResponse) -> tuple[int, bytes]:
    message = await ws.receive(timeout=5)
    assert message.type == aiohttp.WSMsgType.BINARY, message
    return message.data[0], message.data[1:]


async def test_exec_websocket_echoes_stdin_and_reports_success(
    apiserver: FakeAPIServer, exec_proxy: RunningProxy, client: aiohttp.ClientSession
) -> None:
    url = ws_url(exec_proxy, f"{EXEC}?command=cat&stdin=true&stdout=true&stderr=true")
    async with client.ws_connect(
        url,
        protocols=(V5, "base64url.bearer.authorization.k8s.io.c3RvbGVu"),
        headers={"Authorization": "Bearer stolen", "Impersonate-User": "root"},
    ) as ws:
        assert ws.protocol == V5
        assert await channel_message(ws) == (1, b""), "the ready signal"
        await ws.send_bytes(b"\x00hello\n")
        assert await channel_message(ws) == (1, b"hello\n")
        await ws.send_bytes(b"\xff\x00")  # v5: stdin closed
        channel, status = await channel_message(ws)
        assert (channel, json.loads(status)["status"]) == (3, "Success")
        assert (await ws.receive(timeout=5)).type == aiohttp.WSMsgType.CLOSE
    upstream = apiserver.requests[-1]
    assert upstream.user == "admin", "the proxy's credential, not the client's"
    assert "Impersonate-User" not in upstream.headers
    assert "bearer" not in upstream.headers.get("Sec-WebSocket-Protocol", "")


async def test_exec_websocket_reports_a_nonzero_exit_code(
    exec_proxy: RunningProxy, client: aiohttp.ClientSession
) -> None:
    url = ws_url(exec_proxy, f"{EXEC}?command=exit&command=3&stdout=true")
    async with client.ws_connect(url, protocols=(V5,)) as ws:
        await channel_message(ws)
        channel, status = await channel_message(ws)
    assert channel == 3
    assert json.loads(status)["details"]["causes"] == [{"reason": "ExitCode", "message": "3"}]


async def test_exec_is_rejected_by_the_default_filter(
    apiserver: FakeAPIServer, proxy: RunningProxy, client: aiohttp.ClientSession
) -> None:
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        async with client.ws_connect(ws_url(proxy, f"{EXEC}?command=echo"), protocols=(V5,)):
            pass
    assert refused.value.status == 403
    assert not any("/exec" in r.raw_path for r in apiserver.requests)


@dataclass
class RawUpstream:
    """A TLS server on loopback that answers an upgrade with fixed bytes, then echoes."""

    answer: bytes
    port: int = 0
    heads: list[bytes] = field(default_factory=list)
    received: bytearray = field(default_factory=bytearray)
    client_ended: asyncio.Event = field(default_factory=asyncio.Event)

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            self.heads.append(await reader.readuntil(b"\r\n\r\n"))
            writer.write(self.answer)
            await writer.drain()
            while data := await reader.read(65536):
                self.received += data
                if data.endswith(b"bye"):
                    break  # ends its side first: the client must see the end
                writer.write(data)
                await writer.drain()
            else:
                self.client_ended.set()
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


StartRaw = Callable[[bytes], Awaitable[tuple[RawUpstream, RunningProxy]]]


@pytest.fixture
async def raw_upstream(start_proxy: StartProxy, tmp_path: Path) -> AsyncIterator[StartRaw]:
    servers: list[asyncio.Server] = []
    ca = trustme.CA()

    async def start(answer: bytes) -> tuple[RawUpstream, RunningProxy]:
        upstream = RawUpstream(answer=answer)
        context = build_server_ssl_context(ca, hostnames=("127.0.0.1",))
        server = await asyncio.start_server(upstream.serve, "127.0.0.1", 0, ssl=context)
        servers.append(server)
        upstream.port = server.sockets[0].getsockname()[1]
        fake = FakeAPIServer(ca=ca)  # only for its kubeconfig writer; never started
        kubeconfig = fake.kubeconfig(
            tmp_path / f"raw-{upstream.port}", server=f"https://127.0.0.1:{upstream.port}"
        )
        return upstream, await start_proxy(kubeconfig, filter=NO_REJECTS)

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()


SPDY_101 = b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n\r\n"
SPDY_REQUEST = (
    "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: Upgrade\r\n"
    "Upgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: v4.channel.k8s.io\r\n"
    "Authorization: Bearer stolen\r\nContent-Length: 0\r\n\r\n"
)


async def open_raw(
    proxy: RunningProxy, path: str
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    writer.write(SPDY_REQUEST.format(path=path, port=proxy.port).encode())
    await writer.drain()
    return reader, writer


async def test_spdy_upgrade_bytes_flow_both_ways_unchanged(raw_upstream: StartRaw) -> None:
    upstream, proxy = await raw_upstream(SPDY_101)
    reader, writer = await open_raw(proxy, f"{EXEC}?command=sh&stdin=true")
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert head.startswith(b"HTTP/1.1 101 ")
        assert b"Upgrade: SPDY/3.1" in head
        frame = bytes(range(256)) * 64  # not text, not HTTP: passed as it is
        writer.write(frame)
        assert await asyncio.wait_for(reader.readexactly(len(frame)), 5) == frame
        writer.write(b"bye")
        # The upstream ended its side: the client reads to the end, not a reset.
        assert await asyncio.wait_for(reader.read(), 5) == b""
    finally:
        writer.close()
        await writer.wait_closed()
    sent = upstream.heads[0].decode()
    assert sent.startswith(f"POST {EXEC}?command=sh&stdin=true HTTP/1.1\r\n")
    assert "Authorization: Bearer fake-admin-token" in sent
    assert "stolen" not in sent
    for kept in ("Connection: Upgrade", "Upgrade: SPDY/3.1", "X-Stream-Protocol-Version: v4"):
        assert kept in sent


async def test_client_close_reaches_the_upstream(raw_upstream: StartRaw) -> None:
    upstream, proxy = await raw_upstream(SPDY_101)
    reader, writer = await open_raw(proxy, EXEC)
    await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    writer.close()
    await writer.wait_closed()
    await asyncio.wait_for(upstream.client_ended.wait(), 5)


async def test_upstream_switching_to_another_protocol_is_refused(raw_upstream: StartRaw) -> None:
    answer = b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n"
    _, proxy = await raw_upstream(answer)
    reader, writer = await open_raw(proxy, EXEC)
    try:
        data = await asyncio.wait_for(reader.read(), 5)
    finally:
        writer.close()
        await writer.wait_closed()
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 502 ")
    assert json.loads(body)["reason"] == "BadGateway"


@pytest.mark.parametrize(
    "framing",
    [
        pytest.param(b"Content-Length: 27\r\n\r\n", id="content-length body relayed"),
        pytest.param(b"Transfer-Encoding: chunked\r\n\r\n1b\r\n", id="chunked body relayed"),
    ],
)
async def test_upstream_that_does_not_upgrade_is_relayed_as_is(
    raw_upstream: StartRaw, framing: bytes
) -> None:
    body = b'{"kind":"Status","code":400}'[:27]
    trailer = b"\r\n0\r\n\r\n" if b"chunked" in framing else b""
    answer = b"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n" + framing
    _, proxy = await raw_upstream(answer + body + trailer)
    reader, writer = await open_raw(proxy, EXEC)
    try:
        data = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert data.startswith(b"HTTP/1.1 400 Bad Request")
        assert b"application/json" in data
        received = await asyncio.wait_for(reader.read(), 5)
    finally:
        writer.close()
        await writer.wait_closed()
    assert body in received
