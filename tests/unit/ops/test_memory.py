"""The trimmer: once per burst of ended streams, never more often than its interval."""

from __future__ import annotations

import asyncio

from proxy.ops.memory import MemoryTrimmer
from tests.conftest import eventually


async def test_burst_of_ended_streams_trimmed_once_after_the_delay() -> None:
    calls: list[float] = []
    loop = asyncio.get_running_loop()
    trimmer = MemoryTrimmer(trim=lambda: calls.append(loop.time()) or True,
                            delay=0.05, min_interval=0.3)
    started = loop.time()
    for _ in range(500):
        trimmer.stream_ended()
    await eventually(lambda: len(calls) == 1)
    assert calls[0] - started >= 0.05
    await asyncio.sleep(0.1)
    assert len(calls) == 1, "one trim for the whole burst"


async def test_trims_kept_apart_by_the_interval_and_none_without_ended_streams() -> None:
    calls: list[float] = []
    loop = asyncio.get_running_loop()
    trimmer = MemoryTrimmer(trim=lambda: calls.append(loop.time()) or True,
                            delay=0.01, min_interval=0.3)
    trimmer.stream_ended()
    await eventually(lambda: len(calls) == 1)
    trimmer.stream_ended()
    await eventually(lambda: len(calls) == 2)
    assert calls[1] - calls[0] >= 0.3
    await asyncio.sleep(0.4)
    assert len(calls) == 2 and trimmer.trims == 2


async def test_cancel_drops_a_pending_trim() -> None:
    calls: list[int] = []
    trimmer = MemoryTrimmer(trim=lambda: calls.append(1) or True, delay=0.05)
    trimmer.stream_ended()
    trimmer.cancel()
    await asyncio.sleep(0.1)
    assert calls == []
