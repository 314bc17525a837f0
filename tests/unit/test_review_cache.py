"""The review cache: separate TTLs, coalesced misses, failures not cached."""

from __future__ import annotations

import asyncio

import pytest

from proxy.review_cache import ReviewCache
from tests.conftest import FakeClock


async def test_positive_and_negative_ttls() -> None:
    clock = FakeClock()
    cache: ReviewCache[str, bool] = ReviewCache(
        positive_ttl=120, negative_ttl=10, is_positive=bool, clock=clock
    )
    calls: list[str] = []

    async def review(key: str, answer: bool) -> bool:
        calls.append(key)
        return answer

    assert await cache.get("good", lambda: review("good", True)) is True
    assert await cache.get("bad", lambda: review("bad", False)) is False
    clock.advance(11)
    assert await cache.get("good", lambda: review("good", True)) is True
    assert await cache.get("bad", lambda: review("bad", False)) is False
    assert calls == ["good", "bad", "bad"]
    clock.advance(110)
    await cache.get("good", lambda: review("good", True))
    assert calls[-1] == "good" and len(calls) == 4


async def test_concurrent_misses_share_one_review() -> None:
    cache: ReviewCache[str, bool] = ReviewCache(positive_ttl=60, negative_ttl=10, is_positive=bool)
    gate = asyncio.Event()
    calls = 0

    async def review() -> bool:
        nonlocal calls
        calls += 1
        await gate.wait()
        return True

    waiting = [asyncio.ensure_future(cache.get("k", review)) for _ in range(30)]
    await asyncio.sleep(0)
    gate.set()
    assert await asyncio.gather(*waiting) == [True] * 30
    assert calls == 1 and cache.misses == 1 and cache.hits == 29


async def test_failures_are_not_cached() -> None:
    cache: ReviewCache[str, bool] = ReviewCache(positive_ttl=60, negative_ttl=10, is_positive=bool)

    async def broken() -> bool:
        raise RuntimeError("API server down")

    with pytest.raises(RuntimeError):
        await cache.get("k", broken)

    async def fine() -> bool:
        return True

    assert await cache.get("k", fine) is True
