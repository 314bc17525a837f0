"""The lean HTTP/1.1 transport against a scripted server on loopback: keep-alive reuse, what
drops a connection instead of reusing it, request framing, back-pressure, and failures."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import ssl
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import pytest
import trustme
import uvloop
from multidict import CIMultiDict

from proxy.errors import (
    RequestTooLargeError,
    UpstreamError,
    UpstreamTimeoutError,
    UpstreamTLSError,
    UpstreamUnreachableError,
)
from proxy.upstream.endpoint import Endpoint
from proxy.upstream.http1_connection import HIGH_WATER, Http1Body
from proxy.upstream.http1_transport import Http1Transport
from proxy.upstream.session import read_all
from proxy.upstream.transport import RequestBody, RequestHead, Response
from tests.conftest import eventually


@dataclass
class Received:
    connection: int  # which accepted connection carried it, from 1
    head: bytes
    body: bytes


Script = Callable[[Received, asyncio.StreamWriter], Awaitable[bool]]
"""Answers one request; returns False to close the connection afterwards."""


@dataclass
class ScriptedServer:
    script: Script
    received: list[Received] = field(default_factory=list)
    connections: int = 0
    port: int = 0
    writers: list[asyncio.StreamWriter] = field(default_factory=list)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.writers.append(writer)
        number = self.connections
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except asyncio.IncompleteReadError:
                    return
                request = Received(number, head, await read_request_body(head, reader))
                self.received.append(request)
                if not await self.script(request, writer):
                    return
        except ConnectionError:
            return
        finally:
            writer.close()


async def read_request_body(head: bytes, reader: asyncio.StreamReader) -> bytes:
    lowered = head.lower()
    if b"transfer-encoding: chunked" in lowered:
        pieces = []
        while size := int((await reader.readuntil(b"\r\n")).strip(), 16):
            pieces.append(await reader.readexactly(size))
            await reader.readexactly(2)
        await reader.readexactly(2)
        return b"".join(pieces)
    for line in lowered.split(b"\r\n"):
        if line.startswith(b"content-length:"):
            return await reader.readexactly(int(line.split(b":")[1]))
    return b""


def answer(body: bytes = b"ok", *, extra: str = "") -> Script:
    async def script(request: Received, writer: asyncio.StreamWriter) -> bool:
        writer.write(
            f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n{extra}\r\n".encode() + body
        )
        await writer.drain()
        return "Connection: close" not in extra

    return script


@contextlib.asynccontextmanager
async def serving(
    script: Script, tls: ssl.SSLContext | None = None
) -> AsyncIterator[ScriptedServer]:
    server = ScriptedServer(script)
    listener = await asyncio.start_server(server.handle, "127.0.0.1", 0, ssl=tls)
    server.port = listener.sockets[0].getsockname()[1]
    try:
        yield server
    finally:
        listener.close()
        for writer in server.writers:
            writer.transport.abort()
        await asyncio.sleep(0)


@contextlib.asynccontextmanager
async def transport_to(
    port: int, *, connect_timeout: float = 5.0, **pool: Any
) -> AsyncIterator[Http1Transport]:
    transport = Http1Transport(
        Endpoint(f"http://127.0.0.1:{port}"), connect_timeout=connect_timeout, keepalive=0,
        **pool,
    )
    await transport.start()
    try:
        yield transport
    finally:
        await transport.close()


def head(method: str = "GET", target: str = "/api", tls: ssl.SSLContext | None = None,
         **headers: str) -> RequestHead:
    return RequestHead(method=method, target=target, headers=CIMultiDict(headers), tls=tls)


async def fetch(transport: Http1Transport, request: RequestHead, body: RequestBody = None
                ) -> tuple[Response, bytes]:
    response = await transport.send(request, body)
    try:
        return response, await read_all(response.body)
    finally:
        response.body.close()


async def test_a_connection_read_to_its_end_is_reused() -> None:
    async with serving(answer()) as server, transport_to(server.port) as transport:
        for _ in range(3):
            _, body = await fetch(transport, head())
            assert body == b"ok"
        assert server.connections == 1
        assert transport.open_connections == 1


async def test_an_idle_connection_is_closed_after_the_idle_timeout_and_the_next_opens_anew(
) -> None:
    async with serving(answer()) as server, \
            transport_to(server.port, idle_timeout=0.1) as transport:
        _, body = await fetch(transport, head())
        assert body == b"ok" and transport.open_connections == 1
        await eventually(lambda: transport.open_connections == 0)
        await eventually(server.writers[0].is_closing)  # the server saw it go
        _, body = await fetch(transport, head())
        assert body == b"ok"
        assert server.connections == 2
        assert transport.open_connections == 1


async def test_idle_connections_past_the_cap_are_closed_and_the_kept_ones_reused() -> None:
    async with serving(answer()) as server, transport_to(server.port, max_idle=2) as transport:
        held = [await transport.send(head(), None) for _ in range(4)]
        assert server.connections == 4
        for response in held:
            assert await read_all(response.body) == b"ok"
            response.body.close()
        await eventually(lambda: transport.open_connections == 2)
        again = [await transport.send(head(), None) for _ in range(4)]
        for response in again:
            assert await read_all(response.body) == b"ok"
            response.body.close()
        assert server.connections == 6, "two reused from the pool, two new"
        assert len(server.received) == 8


async def test_the_head_is_the_request_headers_plus_host_only() -> None:
    async with serving(answer()) as server, transport_to(server.port) as transport:
        request = RequestHead("GET", "/api/v1/pods?watch=1&x=%2F", CIMultiDict(
            [("X-A", "1"), ("x-a", "2"), ("Authorization", "Bearer t")]), tls=None)
        await fetch(transport, request)
    assert server.received[0].head == (
        b"GET /api/v1/pods?watch=1&x=%2F HTTP/1.1\r\nHost: 127.0.0.1:" + str(server.port).encode()
        + b"\r\nX-A: 1\r\nx-a: 2\r\nAuthorization: Bearer t\r\n\r\n"
    )


async def test_a_half_read_body_drops_its_connection() -> None:
    async with serving(answer(b"x" * 4 * HIGH_WATER)) as server, \
            transport_to(server.port) as transport:
        response = await transport.send(head(), None)
        assert await response.body.read()
        response.body.close()
        await fetch(transport, head())
        assert server.connections == 2


async def test_connection_close_is_not_reused() -> None:
    async with serving(answer(extra="Connection: close\r\n")) as server, \
            transport_to(server.port) as transport:
        await fetch(transport, head())
        await fetch(transport, head())
        assert server.connections == 2


async def test_a_head_answer_has_no_body_whatever_its_length_says() -> None:
    async def script(request: Received, writer: asyncio.StreamWriter) -> bool:
        if request.head.startswith(b"HEAD"):
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
        else:
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        return True

    async with serving(script) as server, transport_to(server.port) as transport:
        _, body = await fetch(transport, head("HEAD"))
        assert body == b""
        _, body = await fetch(transport, head())
        assert body == b"ok"
        assert server.connections == 1


async def test_a_streamed_request_body_goes_in_chunks() -> None:
    async def pieces() -> AsyncIterator[bytes]:
        for piece in (b"one", b"", b"two"):
            yield piece

    async with serving(answer()) as server, transport_to(server.port) as transport:
        await fetch(transport, head("POST"), pieces())
        await fetch(transport, head("POST"), b"bytes")
    chunked, sized = server.received
    assert chunked.head.endswith(b"\r\nTransfer-Encoding: chunked\r\n\r\n")
    assert chunked.body == b"onetwo"
    assert sized.head.endswith(b"\r\nContent-Length: 5\r\n\r\n")
    assert sized.body == b"bytes"
    assert server.connections == 1


async def test_a_body_framed_by_the_caller_is_not_framed_again() -> None:
    async def pieces() -> AsyncIterator[bytes]:
        yield b"abc"

    async with serving(answer()) as server, transport_to(server.port) as transport:
        await fetch(transport, head("PUT", **{"Content-Length": "3"}), pieces())
    assert server.received[0].head.count(b"Content-Length") == 1
    assert b"Transfer-Encoding" not in server.received[0].head
    assert server.received[0].body == b"abc"


async def test_the_proxys_refusal_while_pulling_the_body_comes_out_as_it_is() -> None:
    refusal = RequestTooLargeError("the request body is larger than the proxy's limit")

    async def too_large() -> AsyncIterator[bytes]:
        yield b"first"
        raise refusal

    async def silent(request: Received, writer: asyncio.StreamWriter) -> bool:
        return True

    async with serving(silent) as server, transport_to(server.port) as transport:
        with pytest.raises(RequestTooLargeError) as caught:
            await transport.send(head("POST"), too_large())
        assert caught.value is refusal


async def test_a_slow_reader_holds_a_bounded_buffer() -> None:
    """The server's writes back up instead of the proxy buffering the whole answer."""
    total = 128 * HIGH_WATER
    sent = 0

    async def flood(request: Received, writer: asyncio.StreamWriter) -> bool:
        nonlocal sent
        writer.write(f"HTTP/1.1 200 OK\r\nContent-Length: {total}\r\n\r\n".encode())
        piece = b"x" * 65536
        for _ in range(total // len(piece)):
            writer.write(piece)
            await writer.drain()
            sent += len(piece)
        return True

    async with serving(flood) as server, transport_to(server.port) as transport:
        response = await transport.send(head(), None)
        await asyncio.sleep(0.5)  # time enough to flood memory, were nothing held back
        body = response.body
        assert isinstance(body, Http1Body)
        assert body.buffered <= 2 * HIGH_WATER
        assert sent < total // 2
        received = 0
        while piece := await body.read():
            assert len(piece) <= 2 * HIGH_WATER
            received += len(piece)
        body.close()
        assert received == total


async def test_the_upstream_closing_mid_body_is_an_upstream_error() -> None:
    async def cut(request: Received, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial")
        await writer.drain()
        return False

    async with serving(cut) as server, transport_to(server.port) as transport:
        response = await transport.send(head(), None)
        with pytest.raises(UpstreamError, match="broke off the response"):
            await read_all(response.body)
        response.body.close()


async def test_closing_before_the_head_is_a_502_not_retried_for_a_post() -> None:
    async def hang_up(request: Received, writer: asyncio.StreamWriter) -> bool:
        return False

    async with serving(hang_up) as server, transport_to(server.port) as transport:
        with pytest.raises(UpstreamError, match="failed the request") as caught:
            await transport.send(head("POST"), b"data")
        assert type(caught.value) is UpstreamError
        assert server.connections == 1


async def test_a_stale_kept_alive_connection_is_replayed_for_a_get() -> None:
    async def once_per_connection(request: Received, writer: asyncio.StreamWriter) -> bool:
        if sum(r.connection == request.connection for r in server.received) > 1:
            return False  # closes a kept-alive connection as it is reused
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        return True

    async with serving(once_per_connection) as server, transport_to(server.port) as transport:
        await fetch(transport, head())
        _, body = await fetch(transport, head())
        assert body == b"ok"
        assert server.connections == 2


async def test_an_interim_answer_is_skipped() -> None:
    async def interim(request: Received, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nX: y\r\n"
                     b"Transfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n")
        return True

    async with serving(interim) as server, transport_to(server.port) as transport:
        response, body = await fetch(transport, head("POST"), b"{}")
        assert (response.head.status, response.head.reason, body) == (201, "Created", b"ok")
        assert response.head.headers["X"] == "y"
        await fetch(transport, head())
        assert server.connections == 1


async def test_a_body_until_the_connection_closes_ends_there() -> None:
    async def unframed(request: Received, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\n\r\nall of it")
        return False

    async with serving(unframed) as server, transport_to(server.port) as transport:
        _, body = await fetch(transport, head())
        assert body == b"all of it"


async def test_a_header_with_a_line_break_is_refused() -> None:
    async with serving(answer()) as server, transport_to(server.port) as transport:
        with pytest.raises(UpstreamError, match="line break"):
            await transport.send(head(**{"X-Evil": "a\r\nInjected: 1"}), None)
        assert server.received == []


async def test_tls_checks_the_tls_server_name_and_keeps_the_connection() -> None:
    ca = trustme.CA()
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("api.example").configure_cert(server_tls)
    client_tls = ssl.create_default_context()
    ca.configure_trust(client_tls)
    async with serving(answer(), tls=server_tls) as server:
        named = Http1Transport(
            Endpoint(f"https://127.0.0.1:{server.port}", tls_server_name="api.example"),
            connect_timeout=5, keepalive=30,
        )
        unnamed = Http1Transport(
            Endpoint(f"https://127.0.0.1:{server.port}"), connect_timeout=5, keepalive=0
        )
        try:
            for _ in range(2):
                _, body = await fetch(named, head(tls=client_tls))
                assert body == b"ok"
            assert server.connections == 1
            with pytest.raises(UpstreamTLSError, match="certificate verify failed"):
                await unnamed.send(head(tls=client_tls), None)
        finally:
            await named.close()
            await unnamed.close()


async def test_a_dropped_connection_is_freed_without_the_cycle_collector() -> None:
    """uvloop's TLS transport holds a 256 KiB buffer: a cycle would keep it until a full
    collection, and dropped watches would pile them up."""
    async with serving(answer(b"x" * 4 * HIGH_WATER)) as server, \
            transport_to(server.port) as transport:
        gc.disable()
        try:
            response = await transport.send(head(), None)
            await response.body.read()
            body = weakref.ref(response.body)
            response.body.close()
            del response
            for _ in range(100):
                if transport.open_connections == 0:
                    break
                await asyncio.sleep(0.01)
            assert body() is None
        finally:
            gc.enable()


async def test_connect_timeout_covers_the_tls_handshake() -> None:
    accepted: list[asyncio.StreamWriter] = []

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)  # accepts, and never answers the handshake

    listener = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    transport = Http1Transport(
        Endpoint(f"https://127.0.0.1:{port}"), connect_timeout=0.2, keepalive=0
    )
    try:
        with pytest.raises(UpstreamTimeoutError, match=r"within 0\.2s"):
            await transport.send(head(tls=ssl.create_default_context()), None)
    finally:
        await transport.close()
        listener.close()
        for writer in accepted:
            writer.transport.abort()
        await asyncio.sleep(0)


async def test_unreachable_and_closed_are_503s() -> None:
    async with serving(answer()) as server:
        port = server.port
    async with transport_to(port) as transport:
        with pytest.raises(UpstreamUnreachableError, match="cannot reach"):
            await transport.send(head(), None)
        await transport.close()
        with pytest.raises(UpstreamUnreachableError, match="closed"):
            await transport.send(head(), None)


# Each case above again on uvloop, the loop the proxy runs on: its transports (TLS ones
# included) are not asyncio's classes, and pytest-asyncio runs the cases on asyncio's loop.
ON_UVLOOP = [
    case for name, case in dict(globals()).items()
    if name.startswith("test_") and asyncio.iscoroutinefunction(case)
]


@pytest.mark.parametrize("case", ON_UVLOOP, ids=[case.__name__[5:] for case in ON_UVLOOP])
def test_on_uvloop(case: Callable[[], Coroutine[Any, Any, None]]) -> None:
    uvloop.run(case())
