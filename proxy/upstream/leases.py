"""Counting who uses a resource, so that it is closed only when the last user is done.

A kubeconfig reload replaces the upstream (its connection pool, its credential);
requests already on the old one (a watch may run for hours) keep it until they
end, and then it is closed rather than kept until the proxy exits.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator


class Leases:
    """How many holders a resource has now; `idle()` returns once it has none."""

    def __init__(self) -> None:
        self.count = 0
        self._waiters: list[asyncio.Future[None]] = []

    @contextlib.contextmanager
    def hold(self) -> Iterator[None]:
        """Take a lease for the duration of the block (taken before anything is awaited)."""
        self.count += 1
        try:
            yield
        finally:
            self.count -= 1
            if not self.count:
                waiters, self._waiters = self._waiters, []
                for waiter in waiters:
                    if not waiter.done():
                        waiter.set_result(None)

    async def idle(self) -> None:
        """Return when no lease is held (at once if none is)."""
        while self.count:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            await waiter
