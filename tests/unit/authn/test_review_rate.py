"""Per-address token buckets for reviews of unknown tokens, on a clock moved by hand."""

from __future__ import annotations

import pytest

from proxy.authn.review_rate import ReviewRateLimiter
from proxy.errors import TooManyRequestsError
from tests.conftest import FakeClock


def takes_allowed(limiter: ReviewRateLimiter, client: str, attempts: int) -> int:
    allowed = 0
    for _ in range(attempts):
        try:
            limiter.take(client)
        except TooManyRequestsError:
            continue
        allowed += 1
    return allowed


def test_burst_then_refused_with_time_to_retry() -> None:
    clock = FakeClock()
    limiter = ReviewRateLimiter(rate=10, burst=20, clock=clock)
    assert takes_allowed(limiter, "10.0.0.1", 100) == 20
    with pytest.raises(TooManyRequestsError) as refused:
        limiter.take("10.0.0.1")
    assert refused.value.code == 429 and refused.value.reason == "TooManyRequests"
    assert refused.value.retry_after == pytest.approx(0.1)


def test_refill_at_the_rate_never_above_the_burst() -> None:
    clock = FakeClock()
    limiter = ReviewRateLimiter(rate=10, burst=20, clock=clock)
    takes_allowed(limiter, "10.0.0.1", 20)
    clock.advance(0.5)
    assert takes_allowed(limiter, "10.0.0.1", 100) == 5
    clock.advance(3600)
    assert takes_allowed(limiter, "10.0.0.1", 100) == 20


def test_addresses_have_their_own_buckets() -> None:
    limiter = ReviewRateLimiter(rate=1, burst=3, clock=FakeClock())
    assert takes_allowed(limiter, "10.0.0.1", 10) == 3
    assert takes_allowed(limiter, "10.0.0.2", 10) == 3


def test_buckets_are_bounded_and_forgotten_once_full_again() -> None:
    clock = FakeClock()
    limiter = ReviewRateLimiter(rate=10, burst=20, max_clients=100, clock=clock)
    for n in range(1000):
        limiter.take(f"10.0.{n // 256}.{n % 256}")
    assert len(limiter) == 100
    clock.advance(2.0)  # burst / rate: every bucket is full again
    limiter.take("10.9.9.9")
    assert len(limiter) == 1
