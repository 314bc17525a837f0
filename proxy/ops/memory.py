"""Giving memory back to the operating system after many streams have ended.

Each watch holds buffers (TLS records, 256 KiB reads) that glibc's malloc keeps
in its free lists once they are freed. Measured with `python -m bench.stream_memory`
(2,000 watches opened and dropped per round): with uvloop the RSS went
53 -> 205 -> 264 -> 308 MiB and kept growing, with asyncio 51 -> 691 -> 705 MiB,
while Python's own heap was back to 25 MiB. Capping malloc arenas
(`MALLOC_ARENA_MAX=2`) changed nothing; `malloc_trim(0)` a few seconds after
streams end brought both back to about 115 MiB after every round (README,
Operations). So after streams end the proxy trims, once per burst and at most
every `min_interval`. A trim runs on the event loop: about 70 ms when it hands
back 750 MiB, a few milliseconds when there is little to give back.

glibc only; on another C library (musl, macOS) nothing is trimmed.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import logging
import time
from collections.abc import Callable

from proxy.clock import Clock, monotonic

log = logging.getLogger(__name__)

# A burst of closes is waited out before trimming, and trims are this far apart at least.
TRIM_DELAY_SECONDS = 1.0
MIN_TRIM_INTERVAL_SECONDS = 5.0


def _glibc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
        libc.gnu_get_libc_version  # noqa: B018  (present in glibc only)
        libc.malloc_trim  # noqa: B018
    except (OSError, AttributeError):
        return None
    return libc


_LIBC = _glibc()
TRIM_AVAILABLE = _LIBC is not None


def malloc_trim() -> bool:
    """Hand free heap pages back to the OS; True if glibc released any."""
    if _LIBC is None:
        return False
    return bool(_LIBC.malloc_trim(0))


class MemoryTrimmer:
    """Calls `trim` a little after streams end: once per burst, never more than once
    every `min_interval` seconds, and never when no stream has ended since the last."""

    def __init__(
        self,
        *,
        trim: Callable[[], bool] = malloc_trim,
        delay: float = TRIM_DELAY_SECONDS,
        min_interval: float = MIN_TRIM_INTERVAL_SECONDS,
        clock: Clock = monotonic,
    ) -> None:
        self._trim = trim
        self._delay = delay
        self._min_interval = min_interval
        self._clock = clock
        self._last: float | None = None
        self._scheduled: asyncio.TimerHandle | None = None
        self.trims = 0

    def stream_ended(self) -> None:
        """Note one ended stream (called from the event loop)."""
        if self._scheduled is not None:
            return
        wait = self._delay
        if self._last is not None:
            wait = max(wait, self._last + self._min_interval - self._clock())
        self._scheduled = asyncio.get_running_loop().call_later(wait, self._run)

    def _run(self) -> None:
        self._scheduled = None
        self._last = self._clock()
        started = time.perf_counter()
        released = self._trim()
        self.trims += 1
        log.debug("malloc_trim after streams ended: %s in %.1f ms",
                  "released memory" if released else "nothing to release",
                  (time.perf_counter() - started) * 1000)

    def cancel(self) -> None:
        if self._scheduled is not None:
            self._scheduled.cancel()
            self._scheduled = None
