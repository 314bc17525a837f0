"""One HTTP/1.1 connection to the API server: an asyncio `Protocol`, one exchange at a time.

The answer is parsed by llhttp (`httptools`, as uvicorn does); its body is kept
in a bounded buffer that pauses reading from the socket when the consumer lags,
and writes wait while the socket's own buffer is full. The connection knows
whether it may carry another request (`reusable`): only after an answer that
was read to its end, with its request body wholly sent, and no `Connection: close`.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Callable
from typing import Any, cast

import httptools
from multidict import CIMultiDict, CIMultiDictProxy

from proxy.upstream.failures import ConnectionLost, broken_off
from proxy.upstream.sockets import configure_socket
from proxy.upstream.transport import ResponseHead

# Answer bytes buffered before the socket stops being read (aiohttp's read_bufsize was 256 KiB).
HIGH_WATER = 256 * 1024
_NO_BODY_STATUS = (204, 304)


class Http1Connection(asyncio.Protocol):
    """The socket's protocol and the current exchange's state (head, body buffer, framing)."""

    def __init__(self, *, keepalive: float, on_lost: Callable[[Http1Connection], None]) -> None:
        self._keepalive = keepalive
        self._on_lost = on_lost
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self._lost: BaseException | None = None
        self._write_paused = False
        self._drained: asyncio.Future[None] | None = None
        self._gone: asyncio.Future[None] | None = None
        # The exchange in progress.
        self._parser: httptools.HttpResponseParser | None = None
        self._head: asyncio.Future[tuple[ResponseHead, Http1Body]] | None = None
        self._head_only = False  # an answer to HEAD: no body, whatever it declares
        self._fields: list[tuple[str, str]] = []
        self._reason = ""
        self._body: Http1Body | None = None
        self._until_close = False  # a body framed by the connection's end
        self.received = False  # a byte of the answer arrived
        self.request_sent = True  # the request body went out whole
        self.complete = False  # the answer was read to its end
        self.keep_alive = False

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A read-write transport, though uvloop's TLS one is no `asyncio.Transport` subclass.
        self.transport = cast(asyncio.Transport, transport)
        configure_socket(transport.get_extra_info("socket"), keepalive=self._keepalive)

    def data_received(self, data: bytes) -> None:
        parser = self._parser
        if parser is None or self.complete:
            self.abort()  # bytes nobody asked for: this connection cannot be trusted again
            return
        self.received = True
        if self._until_close:
            self._deliver(data)
            return
        try:
            parser.feed_data(data)
        except httptools.HttpParserUpgrade as upgrade:
            # A switch of protocol on a plain request: hand on what follows, to the end.
            self.keep_alive = False
            self._until_close = True
            self._deliver(data[upgrade.args[0]:])
        except httptools.HttpParserError:
            self._fail(ConnectionLost("its answer is not valid HTTP/1.1"))

    def eof_received(self) -> bool | None:
        return None  # close our side too; connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._until_close and self._body is not None and exc is None:
            self.complete = True
            self._body.end()
        self._fail(ConnectionLost(_lost_reason(exc, head=self._head)))
        for waiter in (self._drained, self._gone):
            if waiter is not None and not waiter.done():
                waiter.set_result(None)
        # No cycles left for the collector: uvloop's TLS transport holds a 256 KiB buffer,
        # freed only when it is.
        self.transport = None
        self._parser = None
        self._head = None
        self._body = None
        self._on_lost(self)

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        if self._drained is not None and not self._drained.done():
            self._drained.set_result(None)

    # httptools callbacks

    def on_status(self, status: bytes) -> None:
        self._reason = status.decode("utf-8", "surrogateescape")

    def on_header(self, name: bytes, value: bytes) -> None:
        # As aiohttp's parser read them: bytes that are not UTF-8 go out again as they came.
        self._fields.append(
            (name.decode("utf-8", "surrogateescape"), value.decode("utf-8", "surrogateescape"))
        )

    def on_headers_complete(self) -> None:
        assert self._parser is not None and self._head is not None
        if self.complete:
            self.keep_alive = False  # a second answer to one request: drop the connection
            return
        status = self._parser.get_status_code()
        if 100 <= status < 200 and status != 101:
            self._fields = []  # an interim answer (100 Continue): the real one follows
            return
        headers = CIMultiDictProxy(CIMultiDict(self._fields))
        self._body = Http1Body(self)
        if not self._head.done():
            head = ResponseHead(status=status, reason=self._reason, headers=headers)
            self._head.set_result((head, self._body))
        if self._head_only:
            self.keep_alive = self._parser.should_keep_alive()
            self._finish()
        elif (
            status not in _NO_BODY_STATUS
            and "Content-Length" not in headers
            and "Transfer-Encoding" not in headers
        ):
            self._until_close = True  # llhttp waits for an end it is never told of

    def on_body(self, body: bytes) -> None:
        self._deliver(body)

    def on_message_complete(self) -> None:
        if self._body is None or self.complete:
            return  # the end of an interim answer, or of a HEAD's that was already finished
        assert self._parser is not None
        self.keep_alive = self._parser.should_keep_alive()
        self._finish()

    # The exchange, for the transport

    def begin(self, *, head_only: bool) -> asyncio.Future[tuple[ResponseHead, Http1Body]]:
        """A new exchange on this idle connection; the future is the answer's head and body."""
        self._parser = httptools.HttpResponseParser(self)
        self._head = asyncio.get_running_loop().create_future()
        self._head_only = head_only
        self._fields = []
        self._reason = ""
        self._body = None
        self._until_close = False
        self.received = False
        self.request_sent = True
        self.complete = False
        self.keep_alive = False
        return self._head

    @property
    def reusable(self) -> bool:
        return self.complete and self.keep_alive and self.request_sent and not self.closed

    def write(self, data: bytes) -> None:
        if self._lost is not None or self.transport is None or self.transport.is_closing():
            raise ConnectionLost("the connection closed while the request was sent")
        self.transport.write(data)

    async def drain(self) -> None:
        """Wait while the socket's send buffer is full: the request body is pulled no faster."""
        if self._write_paused and not self.closed:
            self._drained = asyncio.get_running_loop().create_future()
            await self._drained
        if self._lost is not None:
            raise ConnectionLost("the connection closed while the request was sent")

    def abandon(self, error: BaseException) -> None:
        """The request could not be sent whole (`error`): the head waiter gets it, if waiting."""
        self.request_sent = False
        if self._head is not None and not self._head.done():
            self._head.set_exception(error)
        self.abort()

    def abort(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.abort()

    async def aborted(self) -> None:
        """Abort, and return once the socket is closed (not merely scheduled to close)."""
        if self.closed or self.transport is None:
            return
        self._gone = asyncio.get_running_loop().create_future()
        self.transport.abort()
        await self._gone

    def pause_reading(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.pause_reading()

    def resume_reading(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.resume_reading()

    def _deliver(self, data: bytes) -> None:
        if self.complete:
            self.keep_alive = False
        elif data and self._body is not None:
            self._body.feed(data)

    def _finish(self) -> None:
        self.complete = True
        assert self._body is not None
        self._body.end()

    def _fail(self, error: ConnectionLost) -> None:
        if self._lost is None:
            self._lost = error
        if self._head is not None and not self._head.done():
            self._head.set_exception(error)
        elif self._body is not None and not self.complete:
            self._body.fail(error)
        if not self.closed:
            self.abort()


class Http1Body:
    """The `ResponseBody` of one exchange: pieces as they arrive, at most ~`HIGH_WATER` held."""

    def __init__(self, connection: Http1Connection) -> None:
        self._connection = connection
        self._pieces: collections.deque[bytes] = collections.deque()
        self._buffered = 0
        self._paused = False
        self._ended = False
        self._error: BaseException | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._release: Callable[[Http1Connection], None] | None = None
        self.closed = False

    @property
    def buffered(self) -> int:
        """Bytes received and not yet read: bounded by `HIGH_WATER` and one socket read."""
        return self._buffered

    def on_close(self, release: Callable[[Http1Connection], None]) -> None:
        """`release` gets the connection back when the body is closed (pooled or dropped)."""
        self._release = release

    def feed(self, data: bytes) -> None:
        self._pieces.append(data)
        self._buffered += len(data)
        if self._buffered >= HIGH_WATER and not self._paused:
            self._paused = True
            self._connection.pause_reading()
        self._wake()

    def end(self) -> None:
        self._ended = True
        self._wake()

    def fail(self, error: BaseException) -> None:
        self._error = error
        self._wake()

    async def read(self) -> bytes:
        while not self._pieces:
            if self._ended:
                return b""
            if self._error is not None or self.closed:
                raise broken_off("the response", self._error or ConnectionLost()) from None
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        data = self._pieces.popleft() if len(self._pieces) == 1 else b"".join(self._pieces)
        self._pieces.clear()
        self._buffered = 0
        if self._paused:
            self._paused = False
            self._connection.resume_reading()
        return data

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._pieces.clear()
        self._wake()
        if self._release is not None:
            self._release(self._connection)
            self._release = None

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)


def _lost_reason(exc: BaseException | None, *, head: asyncio.Future[Any] | None) -> str:
    before = "before answering" if head is not None and not head.done() else "mid-answer"
    if exc is None:
        return f"the connection was closed {before}"
    return f"the connection was lost {before} ({type(exc).__name__})"
