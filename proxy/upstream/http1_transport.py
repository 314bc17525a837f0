"""A lean HTTP/1.1 `Transport`: keep-alive connections over the event loop's own transports.

Per request it writes one head (the request line, `Host`, the caller's headers
as they are, the framing) and hands back the answer as llhttp parsed it: no
cookie jar, no tracing hooks, no URL parsing (the target is already the raw
request target), no header set of its own. The connections are pooled per TLS
context (proxy/upstream/http1_pool.py); each speaks through an
`Http1Connection` (proxy/upstream/http1_connection.py).
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterable

from multidict import CIMultiDict

from proxy.errors import UpstreamError, UpstreamUnreachableError
from proxy.upstream.endpoint import Endpoint
from proxy.upstream.failures import ConnectionLost, reaching
from proxy.upstream.http1_connection import Http1Connection
from proxy.upstream.http1_pool import IDLE_TIMEOUT, MAX_IDLE, IdleConnections
from proxy.upstream.transport import RequestBody, RequestHead, Response

# Replayed on a fresh connection when a kept-alive one turns out closed before answering
# (Go's transport does the same): the server may close an idle connection at any moment.
_REPLAYABLE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


class Http1Transport:
    """HTTP/1.1 to one API server behind the `Transport` contract (proxy/upstream/transport.py)."""

    protocol = "http1"

    def __init__(
        self,
        endpoint: Endpoint,
        *,
        connect_timeout: float,
        keepalive: float,
        idle_timeout: float = IDLE_TIMEOUT,
        max_idle: int = MAX_IDLE,
    ) -> None:
        self._endpoint = endpoint
        self._where = endpoint.where
        self._authority = endpoint.authority
        self._server_hostname = endpoint.tls_server_name or endpoint.host
        self._connect_timeout = connect_timeout
        self._keepalive = keepalive
        self._idle = IdleConnections(idle_timeout=idle_timeout, max_idle=max_idle)
        self._open: set[Http1Connection] = set()
        self._writers: set[asyncio.Task[None]] = set()
        self._closed = False

    async def start(self) -> None:
        pass  # connections are made on demand, on the running loop

    async def close(self) -> None:
        self._closed = True
        self._idle.close()
        for writer in list(self._writers):
            writer.cancel()
        await asyncio.gather(*(connection.aborted() for connection in list(self._open)))

    @property
    def open_connections(self) -> int:
        """Connections open now, idle or in use."""
        return len(self._open)

    async def send(self, request: RequestHead, body: RequestBody) -> Response:
        if self._closed:
            raise UpstreamUnreachableError(f"the connections to {self._endpoint.origin} are closed")
        head, chunked = _head_bytes(request, self._authority, body)
        replayable = request.method in _REPLAYABLE_METHODS and not isinstance(body, AsyncIterable)
        with reaching(self._where, connect_timeout=self._connect_timeout):
            connection = self._idle.take(request.tls)
            if connection is not None:
                try:
                    return await self._exchange(connection, request, head, body, chunked)
                except ConnectionLost:
                    if not replayable or connection.received:
                        raise
            connection = await self._connect(request.tls)
            return await self._exchange(connection, request, head, body, chunked)

    async def _connect(self, tls: ssl.SSLContext | None) -> Http1Connection:
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(self._connect_timeout):  # the TLS handshake included
            _, connection = await loop.create_connection(
                lambda: Http1Connection(keepalive=self._keepalive, on_lost=self._lost),
                self._endpoint.host,
                self._endpoint.port,
                ssl=tls,
                server_hostname=self._server_hostname if tls is not None else None,
            )
        if self._closed:
            connection.abort()
            raise UpstreamUnreachableError(f"the connections to {self._endpoint.origin} are closed")
        self._open.add(connection)
        return connection

    async def _exchange(
        self,
        connection: Http1Connection,
        request: RequestHead,
        head: bytes,
        body: RequestBody,
        chunked: bool,
    ) -> Response:
        answer = connection.begin(head_only=request.method == "HEAD")
        try:
            if body is None:
                connection.write(head)
            elif isinstance(body, bytes):
                connection.write(head + (_chunk(body) + _LAST_CHUNK if chunked else body))
            else:
                connection.write(head)
                self._start_writer(connection, body, chunked=chunked)
            response_head, response_body = await answer
        except BaseException:
            connection.abort()
            raise
        response_body.on_close(lambda done: self._release(done, request.tls))
        return Response(head=response_head, body=response_body)

    def _start_writer(
        self, connection: Http1Connection, body: AsyncIterable[bytes], *, chunked: bool
    ) -> None:
        connection.request_sent = False
        writer = asyncio.get_running_loop().create_task(
            _write_body(connection, body, chunked=chunked)
        )
        self._writers.add(writer)
        writer.add_done_callback(self._writers.discard)

    def _release(self, connection: Http1Connection, tls: ssl.SSLContext | None) -> None:
        """The body was closed: its connection goes back to the pool, or, if unfit, away."""
        if connection.reusable and not self._closed:
            self._idle.put(tls, connection)
        else:
            connection.abort()

    def _lost(self, connection: Http1Connection) -> None:
        self._open.discard(connection)
        self._idle.discard(connection)


_LAST_CHUNK = b"0\r\n\r\n"


def _chunk(piece: bytes) -> bytes:
    return b"%x\r\n%b\r\n" % (len(piece), piece)


async def _write_body(
    connection: Http1Connection, body: AsyncIterable[bytes], *, chunked: bool
) -> None:
    """The request body, pulled no faster than the socket takes it; on any failure the
    connection is dropped, and a head still awaited gets the error (a `ProxyError` as is)."""
    try:
        async for piece in body:
            if piece:
                connection.write(_chunk(piece) if chunked else piece)
                await connection.drain()
        if chunked:
            connection.write(_LAST_CHUNK)
    except asyncio.CancelledError:
        connection.abandon(ConnectionLost("the request was cancelled"))
        raise
    except Exception as exc:  # what pulling the body raised, or a lost connection
        connection.abandon(exc)
    else:
        connection.request_sent = True


def _head_bytes(request: RequestHead, authority: str, body: RequestBody) -> tuple[bytes, bool]:
    """The request's head with the framing its body needs; and whether to chunk."""
    framing, chunked = _framing(request.headers, body)
    return encode_head(request, authority, framing), chunked


def encode_head(request: RequestHead, authority: str, framing: str = "") -> bytes:
    """The request line, `Host`, the headers as given (bytes go out as aiohttp read them in)
    and `framing` if any: the one HTTP/1.1 head writer, the dialer's too."""
    lines = [f"{request.method} {request.target} HTTP/1.1", f"Host: {authority}"]
    lines += [f"{name}: {value}" for name, value in request.headers.items()]
    if framing:
        lines.append(framing)
    text = "\r\n".join(lines) + "\r\n\r\n"
    expected_breaks = len(lines) + 1
    if text.count("\n") != expected_breaks or text.count("\r") != expected_breaks:
        # A line break inside a header would start a header of its own upstream.
        raise UpstreamError("a header for the API server contains a line break")
    return text.encode("utf-8", "surrogateescape")


def _framing(headers: CIMultiDict[str], body: RequestBody) -> tuple[str, bool]:
    """The framing header to add (or "") and whether the body is to be sent in chunks."""
    if body is None or "Content-Length" in headers:
        return "", False
    if "Transfer-Encoding" in headers:
        return "", "chunked" in headers.getone("Transfer-Encoding").lower()
    if isinstance(body, bytes):
        return f"Content-Length: {len(body)}", False
    return "Transfer-Encoding: chunked", True
