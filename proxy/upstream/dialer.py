"""The upgrade's own connection to the API server, and just enough HTTP/1.1 to use it.

A pooled transport cannot hand over its socket, so an upgrade connects here
(the `Dialer` contract in proxy/upstream/transport.py), writes its request head
and reads the answer's, parsed by llhttp (`httptools`) as the HTTP/1.1
transport's are; a body is read only when the upstream declines to upgrade, by
its Content-Length, its chunks, or to the end.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import ssl
from collections.abc import AsyncIterator

import httptools
from aiohttp import hdrs
from multidict import CIMultiDict, CIMultiDictProxy

from proxy.errors import UpstreamError
from proxy.upstream.endpoint import Endpoint
from proxy.upstream.failures import BREAKS, ConnectionLost, broken_off, reaching
from proxy.upstream.http1_transport import encode_head
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
        # Framed by the caller (proxy/streams/upgrade.py); refused before connecting if a
        # header would break the head.
        request_bytes = encode_head(request, self._endpoint.authority)
        async with self._connect(request.tls) as (reader, writer):
            head = await exchange(reader, writer, request_bytes + body)
            yield Dialed(head=head, reader=reader, writer=writer)

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
    """Status line and headers, parsed by llhttp; a malformed head is a 502, never a traceback.

    Only the head is taken from `reader` (up to its blank line): after a 101 the rest is the
    upgraded protocol's, read by whoever splices the connection.
    """
    try:
        raw = await reader.readuntil(b"\r\n\r\n")
    except asyncio.LimitOverrunError:
        raise UpstreamError("the API server's response head is too large") from None
    except asyncio.IncompleteReadError:
        raise UpstreamError("the API server closed the connection without answering") from None
    if len(raw) > MAX_HEAD_BYTES:
        raise UpstreamError("the API server's response head is too large")
    answer = _Answer()
    with contextlib.suppress(httptools.HttpParserError, httptools.HttpParserUpgrade):
        # After a complete head llhttp may still stop: a 101 pauses it (what follows is the
        # upgraded protocol's); only a head it did not finish is refused.
        answer.parser.feed_data(raw)
    if not answer.head_complete:
        raise UpstreamError("the API server's answer is not HTTP/1.1")
    return ResponseHead(
        status=answer.parser.get_status_code(),
        reason=answer.reason,
        headers=CIMultiDictProxy(answer.headers),
    )


def has_body(status: int, method: str) -> bool:
    return method != "HEAD" and status >= 200 and status not in (204, 304)


async def read_body(
    head: ResponseHead, reader: asyncio.StreamReader, *, method: str
) -> AsyncIterator[bytes]:
    """The body's pieces, unframed by llhttp: by Content-Length, by chunks, or until the
    upstream closes. A body cut short, or framed wrong, is an `UpstreamError`."""
    if not has_body(head.status, method):
        return
    answer = _Answer()
    framing = [
        f"{name}: {head.headers[name]}\r\n"
        for name in (hdrs.CONTENT_LENGTH, hdrs.TRANSFER_ENCODING)
        if name in head.headers
    ]
    # The parser is told the framing the head declared, then given the body as it arrives.
    answer.parser.feed_data(f"HTTP/1.1 {head.status} -\r\n{''.join(framing)}\r\n".encode())
    try:
        while not answer.complete:
            piece = await reader.read(_PIECE)
            if not piece:
                if framing:  # a declared length or chunked body that stopped short
                    raise broken_off("its answer", ConnectionLost("closed mid-body"))
                return
            try:
                answer.parser.feed_data(piece)
            except httptools.HttpParserError:
                if not answer.complete:  # bytes after the body's end are not ours to judge
                    raise UpstreamError("the API server sent a malformed body") from None
            while answer.pieces:
                yield answer.pieces.popleft()
    except BREAKS as exc:
        raise broken_off("its answer", exc) from None


class _Answer:
    """httptools callbacks: the head's parts, then the body's pieces."""

    def __init__(self) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.reason = ""
        self.headers: CIMultiDict[str] = CIMultiDict()
        self.head_complete = False
        self.complete = False
        self.pieces: collections.deque[bytes] = collections.deque()

    def on_status(self, status: bytes) -> None:
        self.reason += status.decode("latin-1")

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.add(name.decode("latin-1"), value.decode("latin-1"))

    def on_headers_complete(self) -> None:
        self.head_complete = True

    def on_body(self, body: bytes) -> None:
        self.pieces.append(body)

    def on_message_complete(self) -> None:
        self.complete = True
