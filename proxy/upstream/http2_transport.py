"""The `Transport` over HTTP/2: many streams over few connections to one API server.

A watch or a followed log holds a stream, not a connection: 1,000 watches need
ten connections to an API server that allows 100 streams on each (its
SETTINGS_MAX_CONCURRENT_STREAMS), as client-go's. A server that does not choose
`h2` in ALPN, and plain http, get the HTTP/1.1 transport this is given.
Upgrades never come here (the `Dialer` is HTTP/1.1).
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from proxy.errors import ProxyError, UpstreamError, UpstreamTimeoutError, UpstreamUnreachableError
from proxy.upstream.endpoint import Endpoint
from proxy.upstream.failures import reaching
from proxy.upstream.http2_stream import H2Stream, RefusedStreamError
from proxy.upstream.sockets import configure_socket
from proxy.upstream.transport import RequestBody, RequestHead, Response, Transport

if TYPE_CHECKING:
    from proxy.upstream.http2_connection import H2Connection

log = logging.getLogger(__name__)

# client-go's HTTP/2 read-idle timeout: the PING period when --keepalive is 0.
DEFAULT_PING_PERIOD = 30.0
PING_TIMEOUT = 15.0  # client-go's HTTP/2 ping timeout
IDLE_CLOSE = 90.0  # an unused connection is closed after this, as the HTTP/1.1 pool does
# A stream the server never processed (GOAWAY, REFUSED_STREAM) is sent once more.
_ATTEMPTS = 2
# Connection-specific fields that HTTP/2 forbids (RFC 9113 8.2.2); Host becomes :authority.
_NOT_OVER_H2 = frozenset(
    {"connection", "transfer-encoding", "keep-alive", "upgrade", "proxy-connection", "host"}
)


@dataclass
class _Pool:
    """The connections made with one TLS context (one client certificate)."""

    connections: list[H2Connection] = field(default_factory=list)
    opening: asyncio.Future[H2Connection | None] | None = None
    http1_only: bool = False  # the server did not choose h2 for this context


class Http2Transport:
    """HTTP/2 behind the `Transport` contract (proxy/upstream/transport.py).

    `h2_context` turns a request's TLS context into one that offers `h2` in
    ALPN (`UpstreamTLS.offering_h2`); without it the context is used as it is.
    `fallback` takes what cannot go over h2; it is shared, not owned: its `start`
    and `close` are its owner's. The PING period is `keepalive` (the TCP
    keep-alive setting), 30 s when that is 0; an unanswered PING ends its
    connection after `ping_timeout`, and one without streams closes after
    `idle_close`.
    """

    protocol = "http2"  # as the log and /-/metrics name it

    def __init__(
        self,
        endpoint: Endpoint,
        *,
        connect_timeout: float,
        keepalive: float,
        fallback: Transport,
        h2_context: Callable[[ssl.SSLContext], ssl.SSLContext] | None = None,
        ping_timeout: float = PING_TIMEOUT,
        idle_close: float = IDLE_CLOSE,
    ) -> None:
        self._endpoint = endpoint
        self._authority = endpoint.authority
        self._connect_timeout = connect_timeout
        self._keepalive = keepalive
        self._ping_period = keepalive if keepalive > 0 else DEFAULT_PING_PERIOD
        self._ping_timeout = ping_timeout
        self._idle_close = idle_close
        self._fallback = fallback
        self._h2_context = h2_context or (lambda context: context)
        self._pools: dict[ssl.SSLContext, _Pool] = {}
        self._closed = False

    async def start(self) -> None:
        pass

    async def close(self) -> None:
        self._closed = True
        connections = [c for pool in self._pools.values() for c in pool.connections]
        self._pools.clear()
        for connection in connections:
            connection.close()
        for connection in connections:
            await connection.wait_closed()

    @property
    def connection_count(self) -> int:
        """Open HTTP/2 connections, for the logs and metrics."""
        return sum(len(pool.connections) for pool in self._pools.values())

    async def send(self, request: RequestHead, body: RequestBody) -> Response:
        if self._closed:
            raise self._closed_error()
        if request.tls is None:
            return await self._fallback.send(request, body)  # no h2c: plain http is HTTP/1.1
        pool = self._pools.get(request.tls)
        if pool is None:  # not setdefault: no _Pool built and dropped on every request
            pool = self._pools[request.tls] = _Pool()
        if pool.http1_only:
            return await self._fallback.send(request, body)
        headers = h2_request_headers(request, self._authority, body)
        replayable = body is None or isinstance(body, bytes)
        for attempt in range(_ATTEMPTS):
            connection = await self._connection(pool, request.tls)
            if connection is None:
                return await self._fallback.send(request, body)
            try:
                return await _exchange(connection, headers, body)
            except RefusedStreamError:
                # Never processed: safe to send again, on a connection that is not going away.
                if not replayable or attempt + 1 == _ATTEMPTS:
                    raise
        raise AssertionError("unreachable")

    async def _connection(self, pool: _Pool, tls: ssl.SSLContext) -> H2Connection | None:
        """A connection with room for one more stream; None: the server speaks HTTP/1.1."""
        while True:
            if self._closed:
                raise self._closed_error()
            self._pools.setdefault(tls, pool)  # back in, if it was left empty while we waited
            if pool.http1_only:
                return None
            for connection in pool.connections:
                if connection.has_room():
                    return connection
            if pool.opening is None:
                # One connection opens at a time: requests arriving together share it.
                pool.opening = asyncio.ensure_future(self._open(pool, tls))
                # Its failure reaches every waiter; with none left, it is not worth a warning.
                pool.opening.add_done_callback(lambda done: done.cancelled() or done.exception())
            opening = pool.opening
            opened = await asyncio.shield(opening)
            if opened is None:
                return None
            if opened.has_room():
                return opened
            if opened.stream_count == 0:
                raise UpstreamUnreachableError(
                    f"the API server {self._endpoint.where} took no stream on a new connection"
                )

    async def _open(self, pool: _Pool, tls: ssl.SSLContext) -> H2Connection | None:
        try:
            connection = await self._connect(tls)
            if connection is None:
                pool.http1_only = True
                log.info("%s did not choose h2 in ALPN: HTTP/1.1 for it", self._endpoint.where)
            elif not self._closed:
                pool.connections.append(connection)
            else:
                connection.close()
                raise self._closed_error()
            return connection
        finally:
            pool.opening = None

    async def _connect(self, tls: ssl.SSLContext) -> H2Connection | None:
        # h2's framing is imported with the first connection, not at start-up (~20 ms): a
        # proxy whose watches never come, or whose server takes no h2, never pays for it.
        from proxy.upstream.http2_connection import H2Connection

        endpoint = self._endpoint
        loop = asyncio.get_running_loop()
        connection = H2Connection(
            where=endpoint.where,
            ping_period=self._ping_period,
            ping_timeout=self._ping_timeout,
            idle_close=self._idle_close,
            on_change=self._changed,
        )
        with reaching(endpoint.where, connect_timeout=self._connect_timeout):
            async with asyncio.timeout(self._connect_timeout):
                transport, _ = await loop.create_connection(
                    lambda: connection,
                    endpoint.host,
                    endpoint.port,
                    ssl=self._h2_context(tls),
                    server_hostname=endpoint.tls_server_name or endpoint.host,
                )
        configure_socket(transport.get_extra_info("socket"), keepalive=self._keepalive)
        tls_object = transport.get_extra_info("ssl_object")
        if tls_object is None or tls_object.selected_alpn_protocol() != "h2":
            transport.close()
            return None
        connection.start()
        try:
            async with asyncio.timeout(self._connect_timeout):
                await connection.ready  # the server's SETTINGS: its stream limit is known
        except TimeoutError:
            connection.close()
            raise UpstreamTimeoutError(
                f"no HTTP/2 settings from the API server {endpoint.where} "
                f"within {self._connect_timeout:g}s"
            ) from None
        return connection

    def _closed_error(self) -> UpstreamUnreachableError:
        return UpstreamUnreachableError(f"the connections to {self._endpoint.origin} are closed")

    def _changed(self, connection: H2Connection) -> None:
        """A connection lost or going away leaves the pool; its streams finish on it. A pool
        left empty goes too (its context may be a rotated certificate's)."""
        if not (connection.lost or connection.going_away):
            return
        for context, pool in list(self._pools.items()):
            if connection in pool.connections:
                pool.connections.remove(connection)
                if not pool.connections and pool.opening is None and not pool.http1_only:
                    del self._pools[context]


async def _exchange(
    connection: H2Connection, headers: list[tuple[bytes, bytes]], body: RequestBody
) -> Response:
    stream = connection.open_stream(headers, end_stream=body is None)
    if body is not None:
        stream.sender = asyncio.create_task(_send_body(connection, stream, body))
    try:
        head = await stream.head
    except BaseException:
        stream.close()
        raise
    return Response(head=head, body=stream)


async def _send_body(connection: H2Connection, stream: H2Stream, body: RequestBody) -> None:
    """The request body, pulled only as fast as the stream's window lets it out."""
    try:
        if isinstance(body, bytes):
            await connection.send_data(stream, body, end_stream=True)
            return
        assert body is not None
        async for piece in body:
            await connection.send_data(stream, piece, end_stream=False)
        await connection.send_data(stream, b"", end_stream=True)
    except ProxyError as exc:  # our own refusal (the body grew past the limit), or the stream's
        stream.on_error(exc)
        connection.cancel(stream.stream_id)
    except Exception as exc:  # the client's body broke off
        stream.on_error(UpstreamError(f"the request body broke off: {type(exc).__name__}"))
        connection.cancel(stream.stream_id)


def h2_request_headers(
    request: RequestHead, authority: str, body: RequestBody
) -> list[tuple[bytes, bytes]]:
    """The request's head as HTTP/2 fields: pseudo-headers first, names in lower case, and
    nothing HTTP/2 forbids (`TE` only as `trailers`). A `Host` becomes `:authority`."""
    fields: list[tuple[bytes, bytes]] = []
    for name, value in request.headers.items():
        lower = name.lower()
        if lower == "host":
            authority = value
        if lower in _NOT_OVER_H2 or (lower == "te" and value.strip().lower() != "trailers"):
            continue
        fields.append((_wire(lower), _wire(value)))
    if isinstance(body, bytes) and "content-length" not in request.headers:
        fields.append((b"content-length", str(len(body)).encode()))
    pseudo = [
        (b":method", _wire(request.method)),
        (b":scheme", b"https"),
        (b":authority", _wire(authority)),
        (b":path", _wire(request.target)),
    ]
    return pseudo + fields


def _wire(text: str) -> bytes:
    """Header bytes as the inbound side read them (aiohttp decodes with surrogateescape)."""
    return text.encode("utf-8", "surrogateescape")

