"""The clock every timer, cache and credential reads: injected, so tests control time."""

from __future__ import annotations

import time
from collections.abc import Callable

Clock = Callable[[], float]
"""Seconds on a monotonic scale; sources take one so tests control expiry without sleeping."""

monotonic: Clock = time.monotonic
