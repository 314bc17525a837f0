"""Ending long-lived responses cleanly when the proxy stops.

On SIGTERM the listener closes first; then every open watch is ended as a
client expects a watch to end (the chunked stream's last chunk, or a WebSocket
close frame with 1001 "going away"), and plain requests get `--shutdown-grace`
to finish before they are cancelled.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator

from aiohttp import web

log = logging.getLogger(__name__)


class OpenStreams:
    def __init__(self, *, on_end: Callable[[], None] | None = None) -> None:
        """`on_end` is called each time a tracked stream ends (memory is then released)."""
        self._stops: dict[int, Callable[[], object]] = {}
        self._on_end = on_end
        self.stopping = False

    @contextlib.contextmanager
    def track(self, stop: Callable[[], object]) -> Iterator[None]:
        """Register how to end one stream for as long as it is open."""
        key = id(stop)
        self._stops[key] = stop
        try:
            yield
        finally:
            self._stops.pop(key, None)
            if self._on_end is not None:
                self._on_end()

    async def stop_all(self, app: web.Application | None = None) -> None:
        self.stopping = True
        if self._stops:
            log.info("shutting down: ending %d open watch stream(s)", len(self._stops))
        for stop in list(self._stops.values()):
            result = stop()
            if hasattr(result, "__await__"):
                await result
