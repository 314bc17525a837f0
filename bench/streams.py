"""Held watch streams: open many, keep them, and time pushed events from upstream to client.

The client side is a bare asyncio protocol per stream (a few hundred bytes each),
so the harness can hold 10,000 of them on two cores. A stream counts as held once
its first event (ADDED) has arrived. Chunked and WebSocket streams are read the same
way: an event's JSON appears verbatim in a chunk or in an unmasked server frame,
and each MODIFIED event carries the upstream's CLOCK_MONOTONIC stamp of its write.
"""

from __future__ import annotations

import asyncio
import base64
import os
import re
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bench.events import STAMP_KEY

_STAMP = re.compile(rb'"' + re.escape(STAMP_KEY.encode()) + rb'":"(\d+)"')
_TAIL = 160  # longer than any stamp match, so a match split across reads is seen once
CONNECT_TIMEOUT_SECONDS = 15.0


class WatchStream(asyncio.Protocol):
    """One held watch; records the delay of each stamped event it receives."""

    def __init__(self, request: bytes, delays: list[int]) -> None:
        self._request = request
        self._delays = delays
        self._tail = b""
        self._answered = False
        self.transport: asyncio.WriteTransport | None = None
        # Resolved by the first event, or by the end of the connection (then `closed`).
        self.held: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's TLS transport is no asyncio.Transport subclass; it writes all the same.
        self.transport = transport  # type: ignore[assignment]
        transport.write(self._request)  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        now = time.monotonic_ns()
        buffer = self._tail + data
        if not self._answered:
            self._answered = True
            if not data.startswith((b"HTTP/1.1 200 ", b"HTTP/1.1 101 ")):
                self.close()  # not a stream: an error answer
                return
        if not self.held.done() and b'"ADDED"' in buffer:
            self.held.set_result(None)
        for match in _STAMP.finditer(buffer):
            if match.end() > len(self._tail):
                self._delays.append(now - int(match.group(1)))
        self._tail = buffer[-_TAIL:]

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if not self.held.done():
            self.held.set_result(None)

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()


def watch_request(path: str, *, host: str, headers: dict[str, str], websocket: bool) -> bytes:
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}"]
    if websocket:
        key = base64.b64encode(os.urandom(16)).decode()
        lines += [
            "Connection: Upgrade",
            "Upgrade: websocket",
            "Sec-WebSocket-Version: 13",
            f"Sec-WebSocket-Key: {key}",
        ]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


@dataclass
class StreamSet:
    """The streams held against one endpoint, and every delay measured on them."""

    host: str
    port: int
    request: bytes
    ssl_context: ssl.SSLContext | None
    streams: list[WatchStream] = field(default_factory=list)
    delays: list[int] = field(default_factory=list)
    failures: int = 0

    @property
    def held(self) -> int:
        return sum(1 for s in self.streams if not s.closed)

    async def grow_to(self, target: int, *, concurrency: int, budget: float) -> int:
        """Open streams until `target` are held or `budget` seconds pass; returns held count."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + budget
        gate = asyncio.Semaphore(concurrency)

        async def open_one() -> None:
            async with gate:
                if loop.time() > deadline:
                    return
                stream = WatchStream(self.request, self.delays)
                try:
                    async with asyncio.timeout(
                        min(CONNECT_TIMEOUT_SECONDS, deadline - loop.time())
                    ):
                        await loop.create_connection(
                            lambda: stream, self.host, self.port, ssl=self.ssl_context
                        )
                        await stream.held
                except (OSError, TimeoutError, ssl.SSLError):
                    stream.close()
                if stream.closed or not stream.held.done():
                    self.failures += 1
                    stream.close()
                    return
                self.streams.append(stream)

        wanted = max(0, target - self.held)
        tasks = [asyncio.create_task(open_one()) for _ in range(wanted)]
        try:
            await asyncio.wait_for(asyncio.gather(*tasks), timeout=budget + CONNECT_TIMEOUT_SECONDS)
        except TimeoutError:
            pass
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        return self.held

    def close(self) -> None:
        for stream in self.streams:
            stream.close()
        self.streams.clear()


def percentile(values: list[int] | list[float], fraction: float) -> float:
    """Nearest-rank percentile; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered) + 0.5) - 1))
    return float(ordered[index])


@dataclass(frozen=True)
class Delays:
    samples: int
    expected: int
    p50_ms: float
    p99_ms: float


async def measure_delays(
    push: Callable[[int], Awaitable[int]],
    stream_set: StreamSet,
    *,
    pushes: int,
    per_push: int,
    wait: float,
) -> Delays:
    """Ask the upstream for `pushes` rounds of `per_push` events; collect what arrives."""
    start = len(stream_set.delays)
    expected = 0
    for _ in range(pushes):
        expected += await push(per_push)
        await asyncio.sleep(0.1)
    deadline = time.monotonic() + wait
    while len(stream_set.delays) - start < expected and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    samples = [d / 1e6 for d in stream_set.delays[start:]]
    return Delays(
        samples=len(samples),
        expected=expected,
        p50_ms=percentile(samples, 0.50),
        p99_ms=percentile(samples, 0.99),
    )
