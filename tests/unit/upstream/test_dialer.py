"""The upgrade's own connection: its head is written as the HTTP/1.1 transport writes one."""

from __future__ import annotations

import asyncio

import pytest
from multidict import CIMultiDict

from proxy.errors import UpstreamError
from proxy.upstream.dialer import StreamDialer
from proxy.upstream.endpoint import Endpoint
from proxy.upstream.transport import RequestHead


async def test_the_head_is_the_request_headers_plus_host_and_a_line_break_is_refused() -> None:
    heads: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        heads.append(await reader.readuntil(b"\r\n\r\n"))
        writer.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    dialer = StreamDialer(Endpoint(f"http://127.0.0.1:{port}"), connect_timeout=5, keepalive=0)

    def upgrade(**headers: str) -> RequestHead:
        return RequestHead("GET", "/api/x?watch=1", CIMultiDict(headers), tls=None)

    try:
        async with dialer.dial(upgrade(Upgrade="websocket", Connection="Upgrade"), b"") as dialed:
            assert dialed.head.status == 101
        assert heads == [
            f"GET /api/x?watch=1 HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n".encode()
            + b"Upgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
        ]
        with pytest.raises(UpstreamError, match="line break"):
            async with dialer.dial(upgrade(Upgrade="websocket\r\nInjected: 1"), b""):
                pass
        assert len(heads) == 1, "nothing reached the API server"
    finally:
        server.close()
        await server.wait_closed()
