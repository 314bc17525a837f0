"""The idle keep-alive connections of one API server, per TLS context.

A connection made with one client certificate never carries another
credential's request, so idle connections are kept per `SSLContext` (one per
credential, proxy/upstream/tls.py). The most recently used is taken first; one
idle longer than the idle timeout (`IDLE_TIMEOUT`) is closed, as are those past
the cap (`MAX_IDLE`) per context, so a burst leaves no crowd of sockets behind.
"""

from __future__ import annotations

import asyncio
import ssl

from proxy.upstream.http1_connection import Http1Connection

IDLE_TIMEOUT = 90.0  # Go's IdleConnTimeout, and the keep-alive aiohttp's pool used
MAX_IDLE = 128  # per TLS context

PoolKey = ssl.SSLContext | None


class IdleConnections:
    """Connections that finished an exchange cleanly, waiting for the next request."""

    def __init__(self, *, idle_timeout: float = IDLE_TIMEOUT, max_idle: int = MAX_IDLE) -> None:
        self._idle_timeout = idle_timeout
        self._max_idle = max_idle
        self._idle: dict[PoolKey, list[Http1Connection]] = {}
        self._timers: dict[Http1Connection, asyncio.TimerHandle] = {}
        self._keys: dict[Http1Connection, PoolKey] = {}

    def take(self, key: PoolKey) -> Http1Connection | None:
        """The most recently idle connection for `key` still open, or None."""
        idle = self._idle.get(key)
        while idle:
            connection = idle.pop()
            self._forget_timer(connection)
            if not connection.closed:
                return connection
        if idle is not None:
            del self._idle[key]  # a rotated certificate's context is not kept alive here
        return None

    def put(self, key: PoolKey, connection: Http1Connection) -> None:
        idle = self._idle.setdefault(key, [])
        if len(idle) >= self._max_idle:
            connection.abort()
            return
        idle.append(connection)
        self._keys[connection] = key
        loop = asyncio.get_running_loop()
        self._timers[connection] = loop.call_later(self._idle_timeout, self._expire, connection)

    def discard(self, connection: Http1Connection) -> None:
        """A connection that closed (the server ended it): no longer offered."""
        key = self._keys.get(connection, None)
        if connection in self._timers:
            self._forget_timer(connection)
            idle = self._idle.get(key)
            if idle is not None and connection in idle:
                idle.remove(connection)
                if not idle:
                    del self._idle[key]

    def close(self) -> None:
        for idle in self._idle.values():
            for connection in idle:
                connection.abort()
        for timer in self._timers.values():
            timer.cancel()
        self._idle.clear()
        self._timers.clear()
        self._keys.clear()

    def __len__(self) -> int:
        return sum(len(idle) for idle in self._idle.values())

    def _expire(self, connection: Http1Connection) -> None:
        self.discard(connection)
        connection.abort()

    def _forget_timer(self, connection: Http1Connection) -> None:
        timer = self._timers.pop(connection, None)
        if timer is not None:
            timer.cancel()
        self._keys.pop(connection, None)
