"""Two halves of one stream run side by side; when one ends, the stream ends."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable


def _never() -> bool:
    return False


async def race(
    first: Awaitable[object],
    second: Awaitable[object],
    *,
    let_second_finish: Callable[[], bool] = _never,
) -> bool:
    """Run both until one ends, then cancel the other and wait for it; True if `first` ended.

    Contract: however a side ends (returns, raises, is cancelled), that ends the race, and its
    exception is not raised here: for a splice or a watch a reset connection is an ordinary
    end, and the caller reads the outcome from its own state. When `first` ends while
    `second` runs, `let_second_finish()` is asked once: True lets `second` run to its own end
    (an upstream that half-closed while the client still sends). The caller's cancellation
    cancels both sides, waits for them, and propagates; no side outlives the call.
    """
    first_task = asyncio.ensure_future(first)
    second_task = asyncio.ensure_future(second)
    try:
        done, _ = await asyncio.wait({first_task, second_task},
                                     return_when=asyncio.FIRST_COMPLETED)
        if first_task in done and not second_task.done() and let_second_finish():
            await asyncio.wait({second_task})
        return first_task in done
    finally:
        for task in (first_task, second_task):
            task.cancel()
        await asyncio.gather(first_task, second_task, return_exceptions=True)
