"""Connection and request limits that keep one client from starving the others.

- a request head must arrive within `header_timeout` (slowloris): timed from the
  connection's start, and on a keep-alive connection from the first byte after a
  response; between requests `idle_timeout` (aiohttp's keep-alive timer) governs.
  Once a head is complete, nothing here cuts the request: a streaming body, a
  WebSocket, a spliced upgrade or a watch lives until one side ends it (as Go's
  `ReadHeaderTimeout` and `IdleTimeout`, which kubectl proxy inherits);
- a client address may have at most `max_per_client` requests in flight (429 beyond).

The deadline is kept by `HeadDeadline`, free of aiohttp; `HeaderDeadlineHandler` feeds it
the connection's events through proxy/aiohttp_internals.py, which holds every aiohttp
private part the proxy uses.
"""

from __future__ import annotations

import asyncio
import enum
import functools
from collections import Counter
from collections.abc import Callable
from typing import Any, Protocol

from aiohttp import web
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest
from aiohttp.web_response import StreamResponse
from aiohttp.web_server import Server

from proxy.aiohttp_internals import HandlerRunner, queued_request_heads
from proxy.routing.filters import Handler
from proxy.status import status_response


class Cancellable(Protocol):
    def cancel(self) -> None: ...


class Drainable(Protocol):
    """A request body: has it all arrived?"""

    def is_eof(self) -> bool: ...


CallLater = Callable[[float, Callable[[], None]], Cancellable]


class _Phase(enum.Enum):
    HEAD = "a request head is arriving"
    REQUEST = "a request is being served"
    DRAINING = "the response is sent, the request's body still arriving"
    IDLE = "between requests"


class HeadDeadline:
    """When a connection must have delivered a whole request head; free of aiohttp.

    Contract: the connection reports its events in order; `expire` is called at most
    once per armed deadline, and never after `closed`.
    """

    def __init__(self, timeout: float, *, expire: Callable[[], None], call_later: CallLater):
        self._timeout = timeout
        self._expire = expire
        self._call_later = call_later
        self._timer: Cancellable | None = None
        self._phase = _Phase.HEAD

    @property
    def armed(self) -> bool:
        return self._timer is not None

    def connected(self) -> None:
        """A client that never sends a byte is closed at the deadline too."""
        self._phase = _Phase.HEAD
        self._arm()

    def received(self, *, heads_completed: int, empty: bool = False) -> bool:
        """Bytes arrived; True when they start the next request's head (its deadline starts)."""
        if heads_completed:
            self._phase = _Phase.REQUEST
            self._disarm()
            return False
        if self._phase is _Phase.IDLE and not empty:
            self._phase = _Phase.HEAD
            self._arm()
            return True
        return False

    def response_finished(
        self, *, keep_alive: bool, next_head_queued: bool, body_pending: bool
    ) -> None:
        """The next head's deadline waits for its first byte; the idle timeout runs until then."""
        if not keep_alive or next_head_queued:
            self._phase = _Phase.REQUEST
        elif body_pending:
            self._phase = _Phase.DRAINING
        else:
            self._phase = _Phase.IDLE

    def body_drained(self) -> None:
        if self._phase is _Phase.DRAINING:
            self._phase = _Phase.IDLE

    def closed(self) -> None:
        self._disarm()

    def _arm(self) -> None:
        self._disarm()
        self._timer = self._call_later(self._timeout, self._fire)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _fire(self) -> None:
        self._timer = None
        self._expire()


class HeaderDeadlineHandler(RequestHandler):
    """aiohttp's connection handler, reporting a connection's events to a `HeadDeadline`.

    A head is complete when aiohttp's parser queues it; a response is finished when
    `finish_response` returns. Bytes after a complete head (body, WebSocket frames,
    spliced upgrade traffic) never arm the deadline.
    """

    def __init__(
        self,
        manager: Server,
        *,
        loop: asyncio.AbstractEventLoop,
        header_timeout: float,
        **kwargs: Any,
    ) -> None:
        super().__init__(manager, loop=loop, **kwargs)
        self._head_deadline = HeadDeadline(
            header_timeout, expire=self.force_close, call_later=loop.call_later
        )
        self._unread_body: Drainable | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        # The first head is timed by the head deadline alone, as Go's server does.
        self.keep_alive(True)  # cancels aiohttp's idle timer; it is re-armed after a response
        self._head_deadline.connected()

    def data_received(self, data: bytes) -> None:
        queued = queued_request_heads(self)
        super().data_received(data)
        completed = max(0, queued_request_heads(self) - queued)
        if self._head_deadline.received(heads_completed=completed, empty=not data):
            # The next head started: its deadline, not the idle timer, governs now.
            self.keep_alive(True)
        if self._unread_body is not None and self._unread_body.is_eof():
            self._unread_body = None
            self._head_deadline.body_drained()  # the next byte starts the next head

    async def finish_response(
        self, request: BaseRequest, resp: StreamResponse, start_time: float | None
    ) -> tuple[StreamResponse, bool]:
        resp, reset = await super().finish_response(request, resp, start_time)
        body = request.content
        body_pending = not body.is_eof()
        self._unread_body = body if body_pending else None
        self._head_deadline.response_finished(
            keep_alive=bool(resp.keep_alive) and not reset,
            next_head_queued=queued_request_heads(self) > 0,
            body_pending=body_pending,
        )
        return resp, reset

    def connection_lost(self, exc: BaseException | None) -> None:
        self._head_deadline.closed()
        self._unread_body = None
        super().connection_lost(exc)


def with_client_limit(handler: Handler, max_per_client: int) -> Handler:
    """At most `max_per_client` requests in flight per client address; 0 means no limit."""
    if max_per_client <= 0:
        return handler
    in_flight: Counter[str] = Counter()

    async def limited(request: web.Request) -> web.StreamResponse:
        client = request.remote or "unknown"
        if in_flight[client] >= max_per_client:
            return status_response(
                429, f"too many concurrent requests from {client} (limit {max_per_client})"
            )
        in_flight[client] += 1
        try:
            return await handler(request)
        finally:
            in_flight[client] -= 1
            if not in_flight[client]:
                del in_flight[client]

    return limited


class GuardedRunner(HandlerRunner):
    """An AppRunner whose connections get a request-head deadline (none at 0)."""

    def __init__(self, app: web.Application, *, header_timeout: float, **kwargs: Any) -> None:
        make_handler = (
            functools.partial(HeaderDeadlineHandler, header_timeout=header_timeout)
            if header_timeout > 0
            else None
        )
        super().__init__(app, make_handler=make_handler, **kwargs)
