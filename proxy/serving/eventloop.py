"""Which event loop runs the proxy: uvloop when installed (Linux), else asyncio's own.

uvloop's C transports make TLS and small writes several times cheaper; the
measurements are in the README's Performance section. `--event-loop asyncio`
turns it off, e.g. to compare or to rule it out when chasing a bug.
"""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

ASYNCIO = "asyncio"
UVLOOP = "uvloop"
EVENT_LOOPS = (ASYNCIO, UVLOOP)

T = TypeVar("T")


def default_event_loop() -> str:
    return UVLOOP if importlib.util.find_spec("uvloop") is not None else ASYNCIO


def loop_factory(name: str) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """The factory for `asyncio.Runner`; None means asyncio's default loop."""
    if name == UVLOOP:
        import uvloop

        return uvloop.new_event_loop
    return None


def run(main: Coroutine[Any, Any, T], *, event_loop: str) -> T:
    """`asyncio.run` on the chosen loop."""
    with asyncio.Runner(loop_factory=loop_factory(event_loop)) as runner:
        return runner.run(main)
