"""Every part of aiohttp the proxy uses that aiohttp does not promise to keep, in one place.

- `RequestHandler._messages`, the connection's queue of parsed request heads: how the
  request-head deadline sees a head end (serving/limits.py);
- `AppRunner._make_server`, `Server._loop` and `Server._kwargs`, and adopting the runner's
  `Server` by class: how a runner serves its connections with a `RequestHandler` subclass
  (aiohttp builds its `Server` inside `Application`; adopting it copies none of that code);
- `RequestHandler.set_parser`: after an upgrade's 101 the client's bytes go to the proxy's
  reader, as aiohttp's own WebSockets receive theirs (streams/upgrade.py);
- the `RequestHandler` methods that subclass overrides or calls.

`aiohttp_internals_missing` names what a given aiohttp lacks; start-up refuses such an aiohttp
where a feature needs it, and tests/unit/test_aiohttp_internals.py fails on it, so an aiohttp
release that changes these is caught before it is used. pyproject.toml bounds aiohttp below
the next release for the same reason.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import aiohttp
from aiohttp import web
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_server import Server

# Private slots of RequestHandler read here.
_HANDLER_SLOTS = ("_messages",)
# RequestHandler methods overridden (serving/limits.py) or called (set_parser, here).
_HANDLER_METHODS = (
    "connection_made",
    "connection_lost",
    "data_received",
    "finish_response",
    "keep_alive",
    "force_close",
    "pause_reading",
    "resume_reading",
    "set_parser",
)
# Server attributes its constructor sets, read when making a connection's handler.
_SERVER_ATTRIBUTES = ("_loop", "_kwargs")


def aiohttp_internals_missing() -> list[str]:
    """The private parts listed in this module's docstring that the installed aiohttp lacks."""
    slots = getattr(RequestHandler, "__slots__", ())
    missing = [f"RequestHandler.{name}" for name in _HANDLER_SLOTS if name not in slots]
    missing += [
        f"RequestHandler.{name}()"
        for name in _HANDLER_METHODS
        if not callable(getattr(RequestHandler, name, None))
    ]
    # Set in Server.__init__, so read from its code rather than from an instance.
    assigned = Server.__init__.__code__.co_names
    missing += [f"Server.{name}" for name in _SERVER_ATTRIBUTES if name not in assigned]
    if not callable(getattr(web.AppRunner, "_make_server", None)):
        missing.append("AppRunner._make_server()")
    return missing


def queued_request_heads(handler: RequestHandler) -> int:
    """Request heads parsed on this connection and not yet handled."""
    return len(handler._messages)


class RawBytesReader(Protocol):
    """What takes a connection's bytes once it stops speaking HTTP (aiohttp's parser interface)."""

    def feed_data(self, data: bytes) -> tuple[bool, bytes]: ...

    def feed_eof(self) -> None: ...


def read_connection_with(handler: RequestHandler, reader: RawBytesReader) -> None:
    """From now on, the connection's bytes (those already buffered first) go to `reader`."""
    handler.set_parser(reader)  # type: ignore[arg-type]


# Called as aiohttp's Server calls RequestHandler: (server, loop=..., **server_kwargs).
MakeHandler = Callable[..., RequestHandler]


class _AdoptedServer(Server):
    """aiohttp's Server, making each connection's handler with `make_handler`."""

    make_handler: MakeHandler

    def __call__(self) -> RequestHandler:
        return self.make_handler(self, loop=self._loop, **self._kwargs)


class HandlerRunner(web.AppRunner):
    """An AppRunner whose connections are served by `make_handler`'s handlers (a
    `RequestHandler` subclass); with None, by aiohttp's own, untouched."""

    def __init__(
        self, app: web.Application, *, make_handler: MakeHandler | None, **kwargs: Any
    ) -> None:
        if make_handler is not None and (missing := aiohttp_internals_missing()):
            raise RuntimeError(
                f"aiohttp {aiohttp.__version__} lacks what the proxy's connection handler "
                "relies on (--header-timeout 0 does without it): " + ", ".join(missing)
            )
        super().__init__(app, **kwargs)
        self._connection_handler = make_handler

    async def _make_server(self) -> Server:
        server = await super()._make_server()
        if self._connection_handler is not None:
            server.__class__ = _AdoptedServer
            assert isinstance(server, _AdoptedServer)
            server.make_handler = self._connection_handler
        return server

