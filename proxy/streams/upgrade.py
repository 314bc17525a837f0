"""Upgrades passed through: exec, attach, port-forward and `.../proxy` over WebSocket or SPDY.

The request goes upstream over its own HTTP/1.1 connection with the credential
injected (by `Upstream.dial`, the same injection as every request);
after the upstream's `101` the bytes flow both ways unchanged until either side
closes. An upstream that does not upgrade has its answer relayed as it is; one
that switches to another protocol than asked is refused (Go's ReverseProxy).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from aiohttp import hdrs, web
from multidict import CIMultiDict

from proxy.aiohttp_internals import read_connection_with
from proxy.errors import UpstreamError
from proxy.headers import (
    outbound_request_headers,
    outbound_response_headers,
)
from proxy.routing.kind import upgrade_protocol
from proxy.status import status_response
from proxy.streams.race import race
from proxy.streams.truncation import abort_truncated
from proxy.upstream.dialer import read_body
from proxy.upstream.session import Upstream
from proxy.upstream.transport import ResponseHead

_COPY_BUFFER = 64 * 1024


def upgrade_request_headers(inbound: Iterable[tuple[str, str]], protocol: str) -> CIMultiDict[str]:
    """Sanitise as any request (which drops a bearer subprotocol offer and keeps every other
    `Sec-WebSocket-Protocol` line as it is), then re-add the upgrade itself (`Connection:
    Upgrade` and the client's `Upgrade`, as Go's ReverseProxy does)."""
    headers = outbound_request_headers(inbound, keep_content_length=True)
    headers[hdrs.CONNECTION] = "Upgrade"
    headers[hdrs.UPGRADE] = protocol
    return headers


def framed_body(request: web.Request, body: bytes, headers: CIMultiDict[str]) -> bytes:
    """The body as the client framed it: a chunked one goes upstream chunked (in one chunk)."""
    if not request.body_exists or hdrs.CONTENT_LENGTH in headers:
        return body
    headers[hdrs.TRANSFER_ENCODING] = "chunked"
    chunk = f"{len(body):x}\r\n".encode() + body + b"\r\n" if body else b""
    return chunk + b"0\r\n\r\n"


class UpgradeHandler:
    """Splices an upgraded connection between the client and the API server.

    Contract: called only when `upgrade_protocol` names a protocol, after the filter.
    Failures to connect are `UpstreamError`s (a Status); after the 101 nothing is
    parsed or changed, and either side's end closes the other.
    """

    def __init__(self, upstream: Upstream) -> None:
        self._upstream = upstream

    async def handle(self, request: web.Request) -> web.StreamResponse:
        protocol = upgrade_protocol(request.headers)
        assert protocol is not None, "routed here without an upgrade"
        headers = upgrade_request_headers(request.headers.items(), protocol)
        body = framed_body(request, await request.read(), headers)
        async with self._upstream.dial(
            request.method, request.raw_path, headers=headers, body=body
        ) as dialed:
            head, reader, writer = dialed.head, dialed.reader, dialed.writer
            if head.status != 101:
                return await _relay_answer(request, head, reader)
            switched = head.headers.get(hdrs.UPGRADE, "").strip()
            if switched.lower() != protocol.lower():
                refusal = status_response(
                    502, f"the API server switched to {switched!r}, not the {protocol!r} asked for"
                )
                refusal.force_close()
                return refusal
            return await _splice(request, head, reader, writer)


async def _relay_answer(
    request: web.Request, head: ResponseHead, reader: asyncio.StreamReader
) -> web.StreamResponse:
    """The upstream did not upgrade: its answer, as any forwarded answer."""
    headers = outbound_response_headers(head.headers.items())
    response = web.StreamResponse(status=head.status, reason=head.reason, headers=headers)
    # The client may already be speaking the protocol it asked for: no further requests here.
    response.force_close()
    await response.prepare(request)
    try:
        async for piece in read_body(head, reader, method=request.method):
            await response.write(piece)
    except UpstreamError as exc:
        abort_truncated(request, exc)
        return response
    await response.write_eof()
    return response


async def _splice(
    request: web.Request,
    head: ResponseHead,
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
) -> web.StreamResponse:
    """After the 101: copy both ways, unchanged, until one side ends (then end the other)."""
    client = ClientBytes(request)
    response = web.StreamResponse(status=101, reason=head.reason, headers=head.headers)
    request.protocol.keep_alive(False)  # the connection is no longer HTTP
    await response.prepare(request)
    await race(
        copy_upstream_to_client(reader, response, request),
        copy_client_to_upstream(client, writer),
        # The upstream half-closed a plain TCP connection: the client may still send.
        let_second_finish=lambda: not writer.transport.is_closing(),
    )
    return response


class ClientBytes:
    """The client's bytes after the upgrade, with back-pressure: aiohttp hands them to a parser
    once one is set (as for its own WebSockets); this one only queues them."""

    def __init__(self, request: web.Request) -> None:
        self._queue: asyncio.Queue[bytes] = asyncio.Queue()
        self._protocol = request.protocol
        self._buffered = 0
        self._paused = False
        read_connection_with(request.protocol, self)

    def feed_data(self, data: bytes) -> tuple[bool, bytes]:
        self._queue.put_nowait(data)
        self._buffered += len(data)
        if self._buffered > 4 * _COPY_BUFFER and not self._paused:
            self._paused = True
            self._protocol.pause_reading()
        return False, b""

    def feed_eof(self) -> None:
        self._queue.put_nowait(b"")

    async def read(self) -> bytes:
        data = await self._queue.get()
        self._buffered -= len(data)
        if self._paused and self._buffered <= _COPY_BUFFER:
            self._paused = False
            self._protocol.resume_reading()
        return data


async def copy_client_to_upstream(client: ClientBytes, writer: asyncio.StreamWriter) -> None:
    """Client → API server; the client's end becomes the upstream's end of input."""
    while data := await client.read():
        writer.write(data)
        await writer.drain()
    if writer.can_write_eof():
        writer.write_eof()


async def copy_upstream_to_client(
    reader: asyncio.StreamReader, response: web.StreamResponse, request: web.Request
) -> None:
    """API server → client; the upstream's end is passed on as a half-close where TCP allows."""
    while data := await reader.read(_COPY_BUFFER):
        await response.write(data)
    transport = request.transport
    if transport is not None and transport.can_write_eof() and not transport.is_closing():
        transport.write_eof()
