"""No timer of the proxy's own cuts a live stream; the request-head deadline still cuts slow heads.

Timers scaled down: the head deadline is `HEADER_TIMEOUT`, WebSocket watches are pinged every
`PING_INTERVAL`, and the idle timeout is long unless a test is about it.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import aiohttp
import pytest

from proxy.config import FilterConfig, LimitsConfig
from proxy.testing import FakeAPIServer
from tests.integration.conftest import RunningProxy, StartProxy, eventually

HEADER_TIMEOUT = 0.4
PING_INTERVAL = 0.2
LIMITS = LimitsConfig(header_timeout=HEADER_TIMEOUT, idle_timeout=30.0)
CONFIGMAPS = "/api/v1/namespaces/default/configmaps"
EXEC = "/api/v1/namespaces/default/pods/shell/exec"
V5 = "v5.channel.k8s.io"
NO_REJECTS = FilterConfig(
    accept_hosts=(r"^127\.0\.0\.1$", "^localhost$"),
    accept_paths=("^.*",),
    reject_paths=(),
    reject_methods=(),
)


@pytest.fixture
async def limited(start_proxy: StartProxy, admin_kubeconfig: Path) -> RunningProxy:
    return await start_proxy(
        admin_kubeconfig, limits=LIMITS, filter=NO_REJECTS, ws_ping_interval=PING_INTERVAL
    )


def ws_url(proxy: RunningProxy, target: str) -> str:
    return proxy.url.replace("http://", "ws://") + target


def get_head(path: str = "/version") -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode()


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """One response off a kept-alive connection: by Content-Length or by chunks."""
    async with asyncio.timeout(5):
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").lower()
        status = int(head.split(" ", 2)[1])
        if "transfer-encoding: chunked" in head:
            body = b""
            while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
                body += await reader.readexactly(size)
                await reader.readexactly(2)
            await reader.readuntil(b"\r\n")
            return status, body
        length = next(
            int(line.split(":", 1)[1])
            for line in head.split("\r\n")
            if line.startswith("content-length:")
        )
        return status, await reader.readexactly(length)


async def closed_after(reader: asyncio.StreamReader, *, within: float) -> float:
    """Seconds until the proxy closes the connection, having sent nothing."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    assert await asyncio.wait_for(reader.read(), timeout=within) == b"", "an answer, not a close"
    return loop.time() - start


async def test_websocket_watch_answering_pings_outlives_many_header_timeouts(
    apiserver: FakeAPIServer, limited: RunningProxy, client: aiohttp.ClientSession
) -> None:
    loop = asyncio.get_running_loop()
    pings = 0
    names: list[str] = []
    ended: list[aiohttp.WSMessage] = []
    async with client.ws_connect(ws_url(limited, f"{CONFIGMAPS}?watch=true"), autoping=False) as ws:

        async def answer_pings_and_collect_events() -> None:
            nonlocal pings
            async for message in ws:
                if message.type == aiohttp.WSMsgType.PING:
                    pings += 1
                    await ws.pong(message.data)
                elif message.type == aiohttp.WSMsgType.TEXT:
                    names.append(json.loads(message.data)["object"]["metadata"]["name"])
            ended.append(await ws.receive())

        reader = asyncio.create_task(answer_pings_and_collect_events())
        try:
            async with asyncio.timeout(5):
                await apiserver.wait_open_streams(1)
            created: list[str] = []
            deadline = loop.time() + 20 * PING_INTERVAL
            while loop.time() < deadline and not reader.done():
                created.append(f"cm-{len(created)}")
                apiserver.store.create(
                    "configmaps", {"metadata": {"name": created[-1]}}, namespace="default"
                )
                await asyncio.sleep(2 * PING_INTERVAL)
            await eventually(lambda: names == created or reader.done(), timeout=3)
            assert not ended and not ws.closed, f"the watch was cut: {ended}, code {ws.close_code}"
            assert names == created, "every event, the late ones too"
            assert pings >= 15, f"only {pings} pings answered in 20 intervals"
        finally:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)


async def test_exec_session_typing_slowly_outlives_many_header_timeouts(
    apiserver: FakeAPIServer, limited: RunningProxy, client: aiohttp.ClientSession
) -> None:
    apiserver.run_pod("shell")  # bound to the fake node: its kubelet answers exec
    url = ws_url(limited, f"{EXEC}?command=cat&stdin=true&stdout=true")
    loop = asyncio.get_running_loop()
    async with client.ws_connect(url, protocols=(V5,)) as ws:
        assert (await ws.receive_bytes(timeout=5)) == b"\x01", "the ready signal"
        start, lines = loop.time(), 0
        while loop.time() - start < 10 * HEADER_TIMEOUT:
            line = f"line {lines}\n".encode()
            await ws.send_bytes(b"\x00" + line)
            assert await ws.receive_bytes(timeout=5) == b"\x01" + line, f"after {lines} lines"
            lines += 1
            await asyncio.sleep(0.7 * HEADER_TIMEOUT)
        await ws.send_bytes(b"\xff\x00")  # v5: stdin closed
        status = await ws.receive_bytes(timeout=5)
    assert json.loads(status[1:])["status"] == "Success"
    assert lines >= 10


async def test_request_body_dribbled_over_header_timeouts_arrives_whole(
    apiserver: FakeAPIServer, limited: RunningProxy
) -> None:
    body = json.dumps({"metadata": {"name": "slow"}, "data": {"k": "v" * 100}}).encode()
    pieces = [body[i : i + len(body) // 5 + 1] for i in range(0, len(body), len(body) // 5 + 1)]
    reader, writer = await asyncio.open_connection("127.0.0.1", limited.port)
    try:
        writer.write(
            f"POST {CONFIGMAPS} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
            "Transfer-Encoding: chunked\r\n\r\n".encode()
        )
        for piece in pieces:
            await asyncio.sleep(HEADER_TIMEOUT)
            writer.write(b"%x\r\n%s\r\n" % (len(piece), piece))
        writer.write(b"0\r\n\r\n")
        status, answer = await read_response(reader)
    finally:
        writer.close()
    assert len(pieces) >= 5
    assert status == 201, answer
    stored = apiserver.store.get("configmaps", "slow", namespace="default")
    assert stored["data"] == {"k": "v" * 100}


async def test_silent_connection_is_closed_at_the_header_timeout(limited: RunningProxy) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", limited.port)
    try:
        waited = await closed_after(reader, within=5)
    finally:
        writer.close()
    # The idle timeout is 30 s: the head deadline, not it, closed this connection.
    assert HEADER_TIMEOUT * 0.9 <= waited < HEADER_TIMEOUT + 1.5


async def test_keepalive_next_head_dribbled_slowly_is_cut_but_prompt_requests_work(
    limited: RunningProxy,
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", limited.port)
    try:
        writer.write(get_head())
        assert (await read_response(reader))[0] == 200
        # Idle between requests for longer than the head deadline: the idle timeout governs.
        await asyncio.sleep(3 * HEADER_TIMEOUT)
        writer.write(get_head())
        assert (await read_response(reader))[0] == 200
        # The next head dribbles: cut about HEADER_TIMEOUT after its first byte.
        dribble = get_head()
        loop = asyncio.get_running_loop()
        start = loop.time()
        for byte in dribble[:12]:
            writer.write(bytes([byte]))
            await asyncio.sleep(HEADER_TIMEOUT / 4)
            if reader.at_eof():
                break
        await closed_after(reader, within=5)
        assert HEADER_TIMEOUT * 0.9 <= loop.time() - start < HEADER_TIMEOUT + 1.5
    finally:
        writer.close()


async def test_next_head_after_an_idle_pause_gets_the_whole_header_timeout(
    start_proxy: StartProxy, admin_kubeconfig: Path
) -> None:
    """Go's order: the idle timeout until the next head's first byte, then the head deadline."""
    idle = 1.0
    proxy = await start_proxy(
        admin_kubeconfig, limits=LimitsConfig(header_timeout=1.0, idle_timeout=idle)
    )
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    try:
        writer.write(get_head())
        assert (await read_response(reader))[0] == 200
        await asyncio.sleep(0.7 * idle)
        head = get_head()
        # Completed 1.3 s after the response: past the idle timeout, within the head deadline.
        for piece in (head[:5], head[5:15]):
            writer.write(piece)
            await asyncio.sleep(0.3)
        writer.write(head[15:])
        assert (await read_response(reader))[0] == 200
        # Idle again: the idle timeout still closes the connection.
        assert 0.8 * idle <= await closed_after(reader, within=5) < idle + 1.5
    finally:
        writer.close()
