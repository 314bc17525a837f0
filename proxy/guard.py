"""Connection and request limits that keep one client from starving the others.

- a request head must arrive within `header_timeout` of its first byte (slowloris);
- a client address may have at most `max_per_client` requests in flight (429 beyond).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_server import Server

from proxy.filters import Handler
from proxy.status import status_response


class HeaderDeadlineHandler(RequestHandler):
    """aiohttp's connection handler, closing connections whose request head dribbles in."""

    header_timeout: float = 10.0

    def __init__(self, *args: Any, header_timeout: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.header_timeout = header_timeout
        self._deadline: asyncio.TimerHandle | None = None

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._messages:  # a complete request head was parsed
            self._disarm()
        elif self._deadline is None and self.transport is not None:
            self._deadline = asyncio.get_running_loop().call_later(
                self.header_timeout, self._expire
            )

    def connection_lost(self, exc: BaseException | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expire(self) -> None:
        self._deadline = None
        if self.transport is not None:
            self.transport.close()


class GuardedServer(Server):
    """aiohttp's low-level server, making `HeaderDeadlineHandler`s."""

    _header_timeout: float = 10.0

    def __call__(self) -> RequestHandler:
        return HeaderDeadlineHandler(
            self, loop=self._loop, header_timeout=self._header_timeout, **self._kwargs
        )


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


class GuardedRunner(web.AppRunner):
    """An AppRunner whose connections get a request-head deadline."""

    def __init__(self, app: web.Application, *, header_timeout: float, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self._header_timeout = header_timeout

    async def _make_server(self) -> Server:
        server = await super()._make_server()
        # aiohttp builds its Server inside Application; adopt it rather than copy that code.
        server.__class__ = GuardedServer
        assert isinstance(server, GuardedServer)
        server._header_timeout = self._header_timeout
        return server
