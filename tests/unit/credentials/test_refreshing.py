"""Expiring credentials: single flight, renewal before expiry, stale on error, 401 handling."""

from __future__ import annotations

import asyncio
import logging

import pytest

from proxy.credentials.base import Credential
from proxy.credentials.refreshing import (
    RETRY_AFTER_FAILURE_SECONDS,
    Expiring,
    RefreshingSource,
    renew_point,
)
from proxy.errors import CredentialError


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


class Issuer:
    """A fetch that counts its calls, can be made slow, and can fail."""

    def __init__(self, clock: FakeClock, *, life: float = 100.0) -> None:
        self.clock = clock
        self.life = life
        self.calls = 0
        self.fail = False
        self.gate: asyncio.Event | None = None

    async def fetch(self) -> Expiring:
        self.calls += 1
        if self.gate is not None:
            await self.gate.wait()
        if self.fail:
            raise CredentialError("issuer down")
        now = self.clock()
        return Expiring(
            credential=Credential(authorization=f"Bearer t{self.calls}"),
            expires_at=now + self.life,
            renew_at=renew_point(now=now, expires_at=now + self.life, fraction=0.8),
        )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


async def test_fifty_concurrent_requests_cause_one_fetch(clock: FakeClock) -> None:
    issuer = Issuer(clock)
    issuer.gate = asyncio.Event()
    source = RefreshingSource(kind="test", fetch=issuer.fetch, clock=clock)
    waiting = [asyncio.ensure_future(source.credential()) for _ in range(50)]
    await asyncio.sleep(0)
    issuer.gate.set()
    credentials = await asyncio.gather(*waiting)
    assert issuer.calls == 1
    assert {c.authorization for c in credentials} == {"Bearer t1"}


async def test_cached_until_renewal_point_then_renewed(clock: FakeClock) -> None:
    issuer = Issuer(clock)
    source = RefreshingSource(kind="test", fetch=issuer.fetch, clock=clock)
    assert (await source.credential()).authorization == "Bearer t1"
    clock.now += 79
    assert (await source.credential()).authorization == "Bearer t1"
    clock.now += 2  # past 80% of a 100 s life
    assert (await source.credential()).authorization == "Bearer t2"
    assert issuer.calls == 2


async def test_failed_renewal_keeps_the_valid_credential(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    issuer = Issuer(clock)
    source = RefreshingSource(kind="test", fetch=issuer.fetch, clock=clock)
    await source.credential()
    issuer.fail = True
    clock.now += 85
    with caplog.at_level(logging.WARNING):
        assert (await source.credential()).authorization == "Bearer t1"
    assert "still using the current one" in caplog.text
    # No retry storm: the next attempt waits a few seconds.
    await source.credential()
    assert issuer.calls == 2
    clock.now += RETRY_AFTER_FAILURE_SECONDS + 1
    await source.credential()
    assert issuer.calls == 3


async def test_failed_renewal_after_expiry_is_an_error(clock: FakeClock) -> None:
    issuer = Issuer(clock)
    source = RefreshingSource(kind="test", fetch=issuer.fetch, clock=clock)
    await source.credential()
    issuer.fail = True
    clock.now += 101
    with pytest.raises(CredentialError, match="issuer down"):
        await source.credential()


async def test_only_the_first_of_concurrent_401s_drops_the_credential(clock: FakeClock) -> None:
    issuer = Issuer(clock)
    source = RefreshingSource(kind="test", fetch=issuer.fetch, clock=clock)
    refused = await source.credential()
    source.invalidate(refused)
    fresh = await source.credential()
    for _ in range(10):  # the other requests that got 401 with the old credential
        source.invalidate(refused)
    assert await source.credential() is fresh
    assert issuer.calls == 2


def test_renew_point_without_expiry_is_never() -> None:
    assert renew_point(now=10, expires_at=None, fraction=0.8) is None
    assert renew_point(now=10, expires_at=110, fraction=0.8) == pytest.approx(90)
