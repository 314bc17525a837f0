"""The outbound seam: what every way of talking HTTP to the API server must do, and no more.

Everything above this module (the auth policy, REST, watches, upgrades, the
proxy's own calls) speaks to a `Transport` and, for upgrades, a `Dialer`; what
sits below (the HTTP/1.1 and HTTP/2 transports, proxy/upstream/choice.py) is
chosen when the upstream is built and can be swapped without touching the callers.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Protocol

from multidict import CIMultiDict, CIMultiDictProxy

RequestBody = bytes | AsyncIterable[bytes] | None
"""None: no body. Bytes: a body of known length. An async iterable: pieces as they come."""


@dataclass(frozen=True)
class RequestHead:
    """One request as it must reach the API server, credential included. Never log it."""

    method: str
    target: str  # origin-form (server path prefix + path + query), sent as it is
    # Every header the API server is to see, except framing and Host; left out of the repr,
    # which would show the credential in a traceback's locals or an assertion's message.
    headers: CIMultiDict[str] = field(repr=False)
    tls: ssl.SSLContext | None  # the context for this credential; None for plain http


@dataclass(frozen=True)
class ResponseHead:
    status: int
    reason: str
    headers: CIMultiDictProxy[str]


class ResponseBody(Protocol):
    """The answer's body, unframed, as it arrives."""

    async def read(self) -> bytes:
        """The next piece as soon as there is one; b"" once the body has ended."""
        ...

    def close(self) -> None:
        """Done with it; a pending or later `read` ends (b"" or `UpstreamError`)."""
        ...


@dataclass(frozen=True)
class Response:
    head: ResponseHead
    body: ResponseBody


class Transport(Protocol):
    """Sends one request to one API server and hands back its answer's head and body.

    Contract:
    - What goes out is `request.headers` exactly (order, repetition and spelling
      kept) plus only what HTTP itself needs: `Host` (the endpoint's authority)
      and the body's framing (`Content-Length` or `Transfer-Encoding: chunked`,
      unless `request.headers` frames it already). No `User-Agent`, `Accept`,
      `Accept-Encoding`, default `Content-Type`, cookies, or decompression;
      redirects are answers, never followed.
    - `send` returns once the answer's head has arrived; an answer is never an
      error, whatever its status. Every failure to deliver the request or read
      the answer, now or later in `ResponseBody.read`, is raised as an
      `UpstreamError` from proxy/errors.py (TLS, unreachable, timeout, or the
      API server breaking off), mapped by proxy/upstream/failures.py; a
      `ProxyError` raised while pulling the request body (it grew past the
      limit) comes out as it is. Nothing else escapes, and no message carries a
      header value.
    - Back-pressure both ways: the request body is pulled only as fast as it can
      be written, and an answer's body is buffered up to a bounded amount, so a
      slow reader slows the API server rather than growing memory.
    - Closing: the caller closes every `ResponseBody` it got (a body read to its
      end may keep its connection for reuse; any other is dropped). `start` is
      awaited once on the event loop before the first `send`; `close` ends every
      connection, and `send` after it raises `UpstreamUnreachableError`.
    """

    async def start(self) -> None: ...

    async def send(self, request: RequestHead, body: RequestBody) -> Response: ...

    async def close(self) -> None: ...


@dataclass(frozen=True)
class Dialed:
    """An upgrade's own connection, with the answer's head read and the rest unread."""

    head: ResponseHead
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter


class Dialer(Protocol):
    """Opens a connection of its own for one upgrade (exec, attach, port-forward, WebSocket).

    Contract: as `Transport` for what goes out and how failures are raised; the
    request goes over a fresh HTTP/1.1 connection that is never shared, and
    after the head has been read the connection is the caller's (a `101` is
    followed by the new protocol's bytes; any other answer by its body) until the
    block ends, which closes it.
    """

    def dial(self, request: RequestHead, body: bytes) -> AbstractAsyncContextManager[Dialed]: ...
