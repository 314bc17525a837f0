"""How often one client address may have a token reviewed that the cache does not know.

Each unknown bearer token costs the API server a TokenReview, so a client that
sends random tokens would make the proxy hammer it. Each address gets a token
bucket (`--authn-review-qps`, `--authn-review-burst`); beyond it the request is
refused with 429 and a Retry-After, and no review is made. Cached answers and
reviews already in flight cost nothing. The buckets themselves are bounded: one
that has been idle long enough to be full again is forgotten, and at most
`max_clients` are kept (the least recently used goes first).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from cachetools import TTLCache

from proxy.clock import Clock, monotonic
from proxy.errors import TooManyRequestsError

MAX_CLIENTS = 10_000


@dataclass
class _Bucket:
    tokens: float
    updated: float


class ReviewRateLimiter:
    """Token buckets by client address: `rate` reviews a second after a burst of `burst`."""

    def __init__(
        self, *, rate: float, burst: int, max_clients: int = MAX_CLIENTS, clock: Clock = monotonic
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("a review rate limit needs a rate above 0 and a burst of 1 or more")
        self._rate = rate
        self._burst = float(burst)
        self._clock = clock
        # A bucket left alone this long is full again: forgetting it changes nothing.
        self._buckets: TTLCache[str, _Bucket] = TTLCache(max_clients, burst / rate, timer=clock)

    def take(self, client: str) -> None:
        """Spend one review for `client`, or raise `TooManyRequestsError` saying when to retry."""
        now = self._clock()
        bucket = self._buckets.get(client) or _Bucket(tokens=self._burst, updated=now)
        bucket.tokens = min(self._burst, bucket.tokens + (now - bucket.updated) * self._rate)
        bucket.updated = now
        self._buckets[client] = bucket  # (re)starts its time to be forgotten
        if bucket.tokens < 1.0:
            wait = (1.0 - bucket.tokens) / self._rate
            raise TooManyRequestsError(
                f"too many token reviews for unknown tokens from {client}; "
                f"retry in {math.ceil(wait)}s",
                retry_after=wait,
            )
        bucket.tokens -= 1.0

    def __len__(self) -> int:
        """Client addresses with a bucket that is not full."""
        return len(self._buckets)
