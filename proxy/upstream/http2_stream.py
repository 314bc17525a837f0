"""One request's stream on an HTTP/2 connection: the answer's head, then its body as the
consumer reads it (the `ResponseBody` contract), acknowledged only as it is read."""

from __future__ import annotations

import asyncio
from http import HTTPStatus
from typing import Protocol

import h2.errors
from multidict import CIMultiDict, CIMultiDictProxy

from proxy.errors import ProxyError, UpstreamError
from proxy.upstream.transport import ResponseHead


class RefusedStreamError(UpstreamError):
    """The API server did not process the stream (GOAWAY past it, or REFUSED_STREAM): the
    request may be sent again on another connection."""


class StreamOwner(Protocol):
    """What a stream asks of its connection."""

    where: str

    def acknowledge(self, stream_id: int, size: int) -> None: ...

    def cancel(self, stream_id: int) -> None: ...

    def release(self, stream_id: int) -> None: ...


class H2Stream:
    """One request's stream: its answer's head, then its body (the `ResponseBody` contract)."""

    def __init__(self, connection: StreamOwner, stream_id: int) -> None:
        self._connection = connection
        self.stream_id = stream_id
        self.head: asyncio.Future[ResponseHead] = asyncio.get_running_loop().create_future()
        self._pieces: list[bytes] = []
        self._unacknowledged = 0
        self._arrived = asyncio.Event()
        self._ended = False
        self._error: ProxyError | None = None
        self._closed = False
        self.sender: asyncio.Task[None] | None = None  # the request body's writer, if any

    # -- from the connection ---------------------------------------------------------

    def on_head(self, headers: list[tuple[bytes, bytes]]) -> None:
        if not self.head.done():
            self.head.set_result(response_head(headers))

    def on_data(self, data: bytes, flow_controlled_length: int) -> None:
        if self._closed:
            self._connection.acknowledge(self.stream_id, flow_controlled_length)
            return
        self._pieces.append(data)
        self._unacknowledged += flow_controlled_length
        self._arrived.set()

    def on_end(self) -> None:
        self._ended = True
        self._arrived.set()
        if not self.head.done():
            self.head.set_exception(UpstreamError(
                f"the API server {self._connection.where} ended the stream without an answer"
            ))
        if self.sender is not None and not self.sender.done():
            # Answered before the request body was all sent: the server wants no more.
            self.sender.cancel()
            self._connection.cancel(self.stream_id)
        self._connection.release(self.stream_id)

    def on_reset(self, error_code: int | None) -> None:
        code = int(error_code or 0)
        if self._ended:
            pass  # the answer was complete: the server only wants no more request body
        elif code == h2.errors.ErrorCodes.REFUSED_STREAM and not self.head.done():
            self.on_error(RefusedStreamError(
                f"the API server {self._connection.where} refused the stream"
            ))
        else:
            self.on_error(UpstreamError(
                f"the API server {self._connection.where} reset the stream: {_code_name(code)}"
            ))
        self._connection.release(self.stream_id)

    def on_error(self, error: ProxyError) -> None:
        if self._error is None:
            self._error = error
        if not self.head.done():
            self.head.set_exception(error)
        if self.sender is not None:
            self.sender.cancel()
        self._arrived.set()
        self._connection.release(self.stream_id)

    def sendable(self) -> bool:
        """Whether the request body is still wanted; a failure of the stream is raised."""
        if self._error is not None:
            raise self._error
        return not (self._closed or self._ended)

    # -- the ResponseBody contract -----------------------------------------------------

    async def read(self) -> bytes:
        while not self._pieces:
            if self._closed or (self._ended and self._error is None):
                return b""
            if self._error is not None:
                raise self._error
            self._arrived.clear()
            await self._arrived.wait()
        data = self._pieces[0] if len(self._pieces) == 1 else b"".join(self._pieces)
        self._pieces.clear()
        read, self._unacknowledged = self._unacknowledged, 0
        self._connection.acknowledge(self.stream_id, read)
        return data

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._arrived.set()
        if not self.head.done():
            self.head.cancel()  # nobody waits for it any more
        if self.sender is not None:
            self.sender.cancel()
        self._pieces.clear()
        unread, self._unacknowledged = self._unacknowledged, 0
        if not self._ended and self._error is None:
            self._connection.cancel(self.stream_id)
        self._connection.acknowledge(self.stream_id, unread)
        self._connection.release(self.stream_id)


def _code_name(code: int) -> str:
    try:
        return h2.errors.ErrorCodes(code).name
    except ValueError:
        return f"error {code}"


def response_head(headers: list[tuple[bytes, bytes]]) -> ResponseHead:
    """The answer's head as the HTTP/1.1 path gives it: no pseudo-headers, a reason phrase."""
    status = 0
    fields: CIMultiDict[str] = CIMultiDict()
    for name, value in headers:
        if name == b":status":
            status = int(value)
        elif not name.startswith(b":"):
            fields.add(name.decode("latin-1"), value.decode("utf-8", "surrogateescape"))
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = ""
    return ResponseHead(status=status, reason=reason, headers=CIMultiDictProxy(fields))
