"""A cache for review answers (TokenReview, SubjectAccessReview): two TTLs, one request per key.

Positive and negative answers live for different times (a revoked token must
not stay valid for long; a mistyped one must not hammer the API server), the
size is bounded (each TTL's cache holds at most `max_entries`, so a flood of
negative answers never pushes out the positive ones), and concurrent misses for
one key share a single review. A review about to be made may be refused first
(`admit`: a rate limit), and a refusal is not cached.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, Generic, TypeVar

from cachetools import TTLCache

from proxy.clock import Clock, monotonic

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

# How a reviewer asks the API server, with the proxy's own credential:
# (method, path, body) -> (status, JSON body).
ReviewCall = Callable[[str, str, Any], Awaitable[tuple[int, Any]]]


class ReviewCache(Generic[K, V]):
    def __init__(
        self,
        *,
        positive_ttl: float,
        negative_ttl: float,
        is_positive: Callable[[V], bool],
        max_entries: int = 10_000,
        clock: Clock = monotonic,
    ):
        self._positive: TTLCache[K, V] = TTLCache(max_entries, positive_ttl, timer=clock)
        self._negative: TTLCache[K, V] = TTLCache(max_entries, negative_ttl, timer=clock)
        self._is_positive = is_positive
        self._inflight: dict[K, asyncio.Future[V]] = {}
        self.hits = 0
        self.misses = 0

    async def get(
        self,
        key: K,
        review: Callable[[], Awaitable[V]],
        *,
        admit: Callable[[], None] | None = None,
    ) -> V:
        """The cached answer for `key`, or the one `review()` gives (errors are not cached).

        `admit` is called only when a new review is about to be made; what it raises is
        raised here, and no review is made.
        """
        for cache in (self._positive, self._negative):
            if key in cache:
                self.hits += 1
                return cache[key]
        pending = self._inflight.get(key)
        if pending is None:
            if admit is not None:
                admit()
            self.misses += 1
            pending = asyncio.ensure_future(self._review(key, review))
            self._inflight[key] = pending
        else:
            self.hits += 1
        return await asyncio.shield(pending)

    async def _review(self, key: K, review: Callable[[], Awaitable[V]]) -> V:
        try:
            answer = await review()
        finally:
            self._inflight.pop(key, None)
        (self._positive if self._is_positive(answer) else self._negative)[key] = answer
        return answer
