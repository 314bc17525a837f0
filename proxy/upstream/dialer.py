"""The upgrade's own connection to the API server, and just enough HTTP/1.1 to use it.

A pooled transport cannot hand over its socket, so an upgrade connects here
(the `Dialer` contract in proxy/upstream/transport.py), writes its request head
and parses the answer's; a body is read only when the upstream declines to
upgrade, by its Content-Length, its chunks, or to the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator

from aiohttp import hdrs
from multidict import CIMultiDict, CIMultiDictProxy

from proxy.errors import UpstreamError
from proxy.upstream.endpoint import Endpoint
from proxy.upstream.failures import BREAKS, broken_off, reaching
from proxy.upstream.sockets import configure_socket
from proxy.upstream.transport import Dialed, RequestHead, ResponseHead

MAX_HEAD_BYTES = 64 * 1024
STREAM_LIMIT = 64 * 1024
_PIECE = 64 * 1024


class StreamDialer:
    """A `Dialer` over asyncio streams: one new connection per upgrade."""

    def __init__(self, endpoint: Endpoint, *, connect_timeout: float, keepalive: float) -> None:
        self._endpoint = endpoint
        self._connect_timeout = connect_timeout
        self._keepalive = keepalive

    @contextlib.asynccontextmanager
    async def dial(self, request: RequestHead, body: bytes) -> AsyncIterator[Dialed]:
        async with self._connect(request.tls) as (reader, writer):
            head = await exchange(reader, writer, self._head_bytes(request) + body)
            yield Dialed(head=head, reader=reader, writer=writer)

    def _head_bytes(self, request: RequestHead) -> bytes:
        """The request line and headers; header bytes go out as aiohttp read them in."""
        lines = [f"{request.method} {request.target} HTTP/1.1", f"Host: {self._endpoint.authority}"]
        lines += [f"{name}: {value}" for name, value in request.headers.items()]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8", "surrogateescape")

    @contextlib.asynccontextmanager
    async def _connect(
        self, tls: ssl.SSLContext | None
    ) -> AsyncIterator[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
        """The proxy's own connection to the API server, closed on leaving."""
        endpoint = self._endpoint
        server_hostname = (endpoint.tls_server_name or endpoint.host) if tls else None
        with reaching(endpoint.where, connect_timeout=self._connect_timeout):
            async with asyncio.timeout(self._connect_timeout):
                reader, writer = await asyncio.open_connection(
                    endpoint.host,
                    endpoint.port,
                    ssl=tls,
                    server_hostname=server_hostname,
                    limit=STREAM_LIMIT,
                )
        configure_socket(writer.get_extra_info("socket"), keepalive=self._keepalive)
        try:
            yield reader, writer
        finally:
            writer.close()
            with contextlib.suppress(OSError, ssl.SSLError):
                await writer.wait_closed()


async def exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request_bytes: bytes
) -> ResponseHead:
    """Send the request, read the answer's head; a connection lost on the way is a 502."""
    try:
        writer.write(request_bytes)
        await writer.drain()
        return await read_response_head(reader)
    except BREAKS as exc:
        raise broken_off("the upgrade", exc) from None


async def read_response_head(reader: asyncio.StreamReader) -> ResponseHead:
    """Status line and headers; a malformed head is a 502, never a traceback."""
    try:
        raw = await reader.readuntil(b"\r\n\r\n")
    except asyncio.LimitOverrunError:
        raise UpstreamError("the API server's response head is too large") from None
    except asyncio.IncompleteReadError:
        raise UpstreamError("the API server closed the connection without answering") from None
    if len(raw) > MAX_HEAD_BYTES:
        raise UpstreamError("the API server's response head is too large")
    status_line, *lines = raw.decode("latin-1").split("\r\n")
    version, _, rest = status_line.partition(" ")
    code, _, reason = rest.partition(" ")
    if not version.startswith("HTTP/1.") or not code.isdigit():
        raise UpstreamError("the API server's answer is not HTTP/1.1")
    headers: CIMultiDict[str] = CIMultiDict()
    for line in lines:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            raise UpstreamError("the API server sent a malformed header")
        headers.add(name, value.strip())
    return ResponseHead(status=int(code), reason=reason, headers=CIMultiDictProxy(headers))


def has_body(status: int, method: str) -> bool:
    return method != "HEAD" and status >= 200 and status not in (204, 304)


async def read_body(
    head: ResponseHead, reader: asyncio.StreamReader, *, method: str
) -> AsyncIterator[bytes]:
    """The body's pieces, unframed: by Content-Length, by chunks, or until the upstream closes.

    A body cut short, or framed wrong, is an `UpstreamError`.
    """
    try:
        async for piece in _unframed(head, reader, method=method):
            yield piece
    except BREAKS as exc:
        raise broken_off("its answer", exc) from None


async def _unframed(
    head: ResponseHead, reader: asyncio.StreamReader, *, method: str
) -> AsyncIterator[bytes]:
    if not has_body(head.status, method):
        return
    if "chunked" in head.headers.get(hdrs.TRANSFER_ENCODING, "").lower():
        async for piece in _chunks(reader):
            yield piece
        return
    length = head.headers.get(hdrs.CONTENT_LENGTH)
    if length is not None:
        if not length.strip().isdigit():
            raise UpstreamError("the API server sent an invalid Content-Length")
        remaining = int(length)
        while remaining > 0:
            piece = await reader.readexactly(min(remaining, _PIECE))
            remaining -= len(piece)
            yield piece
        return
    while piece := await reader.read(_PIECE):
        yield piece


async def _chunks(reader: asyncio.StreamReader) -> AsyncIterator[bytes]:
    while True:
        size_line = await reader.readuntil(b"\r\n")
        size_text = size_line.split(b";")[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise UpstreamError("the API server sent a malformed chunk") from None
        if size == 0:
            while (await reader.readuntil(b"\r\n")) != b"\r\n":
                pass  # trailers: dropped, as the forwarder drops them
            return
        remaining = size
        while remaining > 0:
            piece = await reader.readexactly(min(remaining, _PIECE))
            remaining -= len(piece)
            yield piece
        await reader.readexactly(2)
