"""When the request-head deadline runs, event by event, on a hand-driven timer."""

from __future__ import annotations

from collections.abc import Callable

from proxy.aiohttp_internals import aiohttp_internals_missing
from proxy.serving.limits import HeadDeadline


class FakeTimer:
    def __init__(self, delay: float, callback: Callable[[], None]) -> None:
        self.delay = delay
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class Timers:
    """`call_later` that only records: the test fires a timer when it wants."""

    def __init__(self) -> None:
        self.made: list[FakeTimer] = []

    def __call__(self, delay: float, callback: Callable[[], None]) -> FakeTimer:
        self.made.append(FakeTimer(delay, callback))
        return self.made[-1]

    @property
    def live(self) -> list[FakeTimer]:
        return [t for t in self.made if not t.cancelled]


def deadline() -> tuple[HeadDeadline, Timers, list[str]]:
    timers, expired = Timers(), []
    head = HeadDeadline(10.0, expire=lambda: expired.append("closed"), call_later=timers)
    return head, timers, expired


def test_deadline_runs_from_connection_start_for_a_silent_client() -> None:
    head, timers, expired = deadline()
    head.connected()
    assert [t.delay for t in timers.live] == [10.0]
    timers.live[0].callback()
    assert expired == ["closed"]
    assert not head.armed


def test_complete_head_disarms_and_later_bytes_never_rearm() -> None:
    head, timers, _ = deadline()
    head.connected()
    head.received(heads_completed=0)  # part of the head
    head.received(heads_completed=1)
    for _ in range(5):  # body, WebSocket frames, spliced upgrade bytes
        assert head.received(heads_completed=0) is False
    assert not timers.live and not head.armed


def test_idle_between_requests_is_not_timed_until_the_next_head_starts() -> None:
    head, timers, _ = deadline()
    head.connected()
    head.received(heads_completed=1)
    head.response_finished(keep_alive=True, next_head_queued=False, body_pending=False)
    assert not head.armed, "between requests the idle timeout governs"
    assert head.received(heads_completed=0, empty=True) is False, "a re-parse is no byte"
    assert head.received(heads_completed=0) is True
    assert [t.delay for t in timers.live] == [10.0]
    assert head.received(heads_completed=0) is False, "one deadline per head, not per byte"
    assert len(timers.made) == 2


def test_pipelined_head_already_queued_is_not_timed() -> None:
    head, _, _ = deadline()
    head.connected()
    head.received(heads_completed=2)
    head.response_finished(keep_alive=True, next_head_queued=True, body_pending=False)
    head.received(heads_completed=0)
    assert not head.armed


def test_unread_body_still_arriving_after_the_response_is_not_a_head() -> None:
    head, _, _ = deadline()
    head.connected()
    head.received(heads_completed=1)
    head.response_finished(keep_alive=True, next_head_queued=False, body_pending=True)
    head.received(heads_completed=0)
    assert not head.armed
    head.body_drained()
    assert head.received(heads_completed=0) is True
    assert head.armed


def test_closing_connection_is_never_timed_and_close_disarms() -> None:
    head, timers, expired = deadline()
    head.connected()
    head.received(heads_completed=1)
    head.response_finished(keep_alive=False, next_head_queued=False, body_pending=False)
    head.received(heads_completed=0)
    assert not head.armed
    head.closed()
    assert not timers.live and not expired


def test_aiohttp_still_has_what_the_head_deadline_reads() -> None:
    assert aiohttp_internals_missing() == []
