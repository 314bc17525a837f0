"""The two-task race behind the upgrade splice and the WebSocket watch."""

from __future__ import annotations

import asyncio

import pytest

from proxy.streams.race import race


class Side:
    """One half of a stream: ends when told (or raises), and records how it was stopped."""

    def __init__(self, *, error: Exception | None = None) -> None:
        self.end = asyncio.Event()
        self.error = error
        self.cancelled = False
        self.cleaned_up = False

    async def run(self) -> str:
        try:
            await self.end.wait()
            if self.error is not None:
                raise self.error
            return "ended"
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        finally:
            await asyncio.sleep(0)  # cleanup that itself awaits: it must be waited for
            self.cleaned_up = True


async def test_first_finisher_wins_and_the_other_is_cancelled_and_awaited() -> None:
    first, second = Side(), Side()
    first.end.set()
    assert await race(first.run(), second.run()) is True
    assert second.cancelled and second.cleaned_up
    assert not first.cancelled


async def test_second_finisher_wins_and_the_first_is_cancelled_and_awaited() -> None:
    first, second = Side(), Side()
    second.end.set()
    assert await race(first.run(), second.run()) is False
    assert first.cancelled and first.cleaned_up


async def test_second_may_run_to_its_own_end_when_the_caller_lets_it() -> None:
    first, second = Side(), Side()
    first.end.set()
    racing = asyncio.ensure_future(race(first.run(), second.run(), let_second_finish=lambda: True))
    await asyncio.sleep(0.01)
    assert not racing.done()
    second.end.set()
    assert await racing is True
    assert not second.cancelled


async def test_an_exception_in_a_side_ends_the_race_without_being_raised() -> None:
    failing, other = Side(error=ConnectionResetError("client gone")), Side()
    failing.end.set()
    assert await race(failing.run(), other.run()) is True
    assert other.cancelled and other.cleaned_up


async def test_the_callers_cancellation_propagates_after_both_sides_are_stopped() -> None:
    first, second = Side(), Side()
    racing = asyncio.ensure_future(race(first.run(), second.run()))
    await asyncio.sleep(0.01)
    racing.cancel()
    with pytest.raises(asyncio.CancelledError):
        await racing
    assert first.cancelled and first.cleaned_up
    assert second.cancelled and second.cleaned_up
