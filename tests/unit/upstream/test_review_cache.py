"""The review cache: separate TTLs, coalesced misses, failures not cached."""

from __future__ import annotations

import asyncio

import pytest

from proxy.upstream.review_cache import ReviewCache
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


async def test_admit_called_only_before_a_new_review_and_its_refusal_not_cached() -> None:
    cache: ReviewCache[str, bool] = ReviewCache(positive_ttl=60, negative_ttl=10, is_positive=bool)
    admitted: list[str] = []
    refuse = True

    def admit() -> None:
        admitted.append("k")
        if refuse:
            raise PermissionError("over the rate")

    async def review() -> bool:
        return False

    with pytest.raises(PermissionError):
        await cache.get("k", review, admit=admit)
    assert cache.misses == 0, "a refused review was not made"
    refuse = False
    assert await cache.get("k", review, admit=admit) is False
    assert await cache.get("k", review, admit=admit) is False, "a cached negative answer"
    assert admitted == ["k", "k"]


async def test_negative_answers_bounded_apart_from_positive_ones() -> None:
    cache: ReviewCache[str, bool] = ReviewCache(
        positive_ttl=60, negative_ttl=10, is_positive=bool, max_entries=50
    )

    async def answer(value: bool) -> bool:
        return value

    await cache.get("good", lambda: answer(True))
    for n in range(500):
        await cache.get(f"bad-{n}", lambda: answer(False))
    assert cache.misses == 501
    assert await cache.get("good", lambda: answer(False)) is True, "still cached"
    assert cache.misses == 501
    for n in range(450, 500):
        await cache.get(f"bad-{n}", lambda: answer(False))
    assert cache.misses == 501, "the last 50 negative answers are kept"
    await cache.get("bad-0", lambda: answer(False))
    assert cache.misses == 502, "older ones were let go"
