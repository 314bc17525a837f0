"""An upstream that sends a watch event without end: the proxy holds a bounded part of it,
frees it, and ends the watch with the ERROR event the API server sends for a failed watch."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest

from proxy.testing.kubeconfig import write_kubeconfig
from tests.integration.conftest import StartProxy

LIMIT = 256 * 1024
# What the upstream would send if nobody stopped it, and for how long: bounded either way.
UPSTREAM_CAP = 64 * 1024 * 1024
UPSTREAM_SECONDS = 10.0
CHUNK = b"x" * 65536
WATCH = "/api/v1/namespaces/default/configmaps?watch=true"


@dataclass
class EndlessLineUpstream:
    """A raw HTTP/1.1 server answering every request with a watch event that never ends."""

    port: int = 0
    requests: int = 0
    sent: list[int] = field(default_factory=list)  # bytes sent on each connection
    done: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sent = 0
        try:
            await reader.readuntil(b"\r\n\r\n")
            self.requests += 1
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                         b"Transfer-Encoding: chunked\r\n\r\n")
            start = b'{"type":"ADDED","object":{"metadata":{"name":"'
            writer.write(b"%x\r\n%s\r\n" % (len(start), start))
            async with asyncio.timeout(UPSTREAM_SECONDS):
                while sent < UPSTREAM_CAP:
                    writer.write(b"%x\r\n%s\r\n" % (len(CHUNK), CHUNK))
                    await writer.drain()
                    sent += len(CHUNK)
        except (ConnectionError, TimeoutError, asyncio.IncompleteReadError):
            pass
        finally:
            self.sent.append(sent)
            writer.close()
            self.done.set()


@pytest.fixture
async def endless() -> AsyncIterator[EndlessLineUpstream]:
    upstream = EndlessLineUpstream()
    server = await asyncio.start_server(upstream.handle, "127.0.0.1", 0)
    upstream.port = server.sockets[0].getsockname()[1]
    async with server:
        yield upstream


def kubeconfig_for(upstream: EndlessLineUpstream, tmp_path: Path) -> Path:
    return write_kubeconfig(
        tmp_path / "endless.kubeconfig", server=f"http://127.0.0.1:{upstream.port}", token="t"
    )


def assert_failed_watch_status(event: dict[str, object]) -> None:
    assert event["type"] == "ERROR"
    status = event["object"]
    assert isinstance(status, dict)
    assert (status["kind"], status["code"], status["reason"]) == ("Status", 500, "InternalError")
    assert f"limit of {LIMIT} bytes" in str(status["message"])


async def assert_upstream_stopped_early(upstream: EndlessLineUpstream) -> None:
    async with asyncio.timeout(UPSTREAM_SECONDS):
        await upstream.done.wait()
    assert upstream.requests == 1, "the watch is not re-opened after a refused event"
    # The upstream could push what loopback's socket buffers hold after the proxy stopped
    # reading; nowhere near what it would have sent.
    assert upstream.sent[0] < 16 * 1024 * 1024 < UPSTREAM_CAP


async def test_websocket_watch_with_endless_event_ends_with_error_then_close(
    endless: EndlessLineUpstream,
    start_proxy: StartProxy,
    client: aiohttp.ClientSession,
    tmp_path: Path,
) -> None:
    proxy = await start_proxy(kubeconfig_for(endless, tmp_path), max_watch_event_bytes=LIMIT)
    url = proxy.url.replace("http://", "ws://") + WATCH
    async with client.ws_connect(url) as ws:
        message = await ws.receive(timeout=UPSTREAM_SECONDS)
        assert message.type == aiohttp.WSMsgType.TEXT, message
        assert_failed_watch_status(json.loads(message.data))
        closing = await ws.receive(timeout=5)
        assert closing.type == aiohttp.WSMsgType.CLOSE
        assert closing.data == aiohttp.WSCloseCode.INTERNAL_ERROR
    await assert_upstream_stopped_early(endless)


async def test_resumed_chunked_watch_with_endless_event_ends_with_error_line(
    endless: EndlessLineUpstream,
    start_proxy: StartProxy,
    client: aiohttp.ClientSession,
    tmp_path: Path,
) -> None:
    proxy = await start_proxy(
        kubeconfig_for(endless, tmp_path), max_watch_event_bytes=LIMIT, watch_resume=True
    )
    async with client.get(proxy.url + WATCH, timeout=aiohttp.ClientTimeout(total=15)) as response:
        assert response.status == 200
        body = await response.read()  # the stream ends, complete (a truncated one raises)
    lines = body.splitlines()
    assert len(lines) == 1, "the event that was too large is not passed on in part"
    assert_failed_watch_status(json.loads(lines[0]))
    await assert_upstream_stopped_early(endless)
