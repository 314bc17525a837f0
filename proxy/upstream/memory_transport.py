"""A `Transport` that answers in memory, for testing what sits above the seam without sockets.

Each request is recorded as it was handed over (head and whole body), and
answered by a function the test supplies. A body can be made to break off, to
test how callers treat a truncated answer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from multidict import CIMultiDict, CIMultiDictProxy

from proxy.errors import UpstreamError, UpstreamUnreachableError
from proxy.upstream.transport import RequestBody, RequestHead, Response, ResponseHead


@dataclass(frozen=True)
class Answer:
    """What the in-memory API server answers: a status, headers, and the body in pieces."""

    status: int = 200
    headers: Sequence[tuple[str, str]] = ()
    pieces: Sequence[bytes] = ()
    broken_off: bool = False  # after the pieces, the connection is lost


@dataclass(frozen=True)
class Sent:
    request: RequestHead
    body: bytes | None


Answerer = Callable[[RequestHead, bytes | None], Awaitable[Answer]]


@dataclass
class MemoryTransport:
    answer: Answerer
    sent: list[Sent] = field(default_factory=list)
    bodies: list[MemoryBody] = field(default_factory=list)
    closed: bool = False

    async def start(self) -> None:
        pass

    async def send(self, request: RequestHead, body: RequestBody) -> Response:
        if self.closed:
            raise UpstreamUnreachableError("the in-memory transport is closed")
        data = body if body is None or isinstance(body, bytes) else await _gather(body)
        self.sent.append(Sent(request=request, body=data))
        answer = await self.answer(request, data)
        headers = CIMultiDictProxy(CIMultiDict(answer.headers))
        self.bodies.append(MemoryBody(list(answer.pieces), broken_off=answer.broken_off))
        head = ResponseHead(status=answer.status, reason="", headers=headers)
        return Response(head=head, body=self.bodies[-1])

    async def close(self) -> None:
        self.closed = True


class MemoryBody:
    def __init__(self, pieces: list[bytes], *, broken_off: bool) -> None:
        self._pieces = pieces
        self._broken_off = broken_off
        self.closed = False

    async def read(self) -> bytes:
        if self._pieces and not self.closed:
            return self._pieces.pop(0)
        if self._broken_off or self.closed:
            raise UpstreamError("the API server broke off the response: in memory")
        return b""

    def close(self) -> None:
        self.closed = True


async def _gather(body: RequestBody) -> bytes:
    assert body is not None and not isinstance(body, bytes)
    return b"".join([piece async for piece in body])
