"""Counting open streaming responses, so tests can prove a client's disconnect reached us."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class StreamCounter:
    """How many watch and log-follow responses are being served right now."""

    def __init__(self) -> None:
        self._count = 0
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._tasks: set[asyncio.Task[object]] = set()

    @property
    def count(self) -> int:
        return self._count

    @asynccontextmanager
    async def track(self) -> AsyncIterator[None]:
        """Count the stream while the body runs, however it ends (disconnect, cancel)."""
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        self._set(self._count + 1)
        try:
            yield
        finally:
            self._set(self._count - 1)
            if task is not None:
                self._tasks.discard(task)

    def cancel_all(self) -> None:
        """End every open stream now (server shutdown), instead of waiting for clients."""
        for task in self._tasks:
            task.cancel()

    async def wait_for(self, count: int) -> None:
        """Return once exactly `count` streams are open."""
        if self._count == count:
            return
        waiter = (count, asyncio.get_running_loop().create_future())
        self._waiters.append(waiter)
        try:
            await waiter[1]
        finally:
            self._waiters.remove(waiter)

    def _set(self, count: int) -> None:
        self._count = count
        for wanted, future in self._waiters:
            if wanted == count and not future.done():
                future.set_result(None)
