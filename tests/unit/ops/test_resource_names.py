"""Metric labels from discovery: fetched lazily, rate-limited, `other` for the rest."""

from __future__ import annotations

import asyncio

from proxy.ops.resource_names import OTHER, Names, ResourceNames
from tests.conftest import FakeClock

CORE = frozenset({("", "pods"), ("", "pods/log"), ("apps", "deployments")})


class FakeDiscovery:
    def __init__(self, *answers: Names | Exception) -> None:
        self.answers = list(answers)
        self.calls = 0

    async def __call__(self) -> Names:
        self.calls += 1
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


async def test_labels_wait_for_the_first_fetch_then_come_from_it() -> None:
    fetch = FakeDiscovery(CORE)
    names = ResourceNames(fetch, clock=FakeClock())
    assert names.label("", "pods") is None, "undecided before any fetch"
    await names.refresh_if_due(wait=1)
    assert fetch.calls == 1
    assert names.label("", "pods") == "pods"
    assert names.label("", "pods/log") == "pods/log"
    assert names.label("apps", "deployments") == "deployments"
    assert names.label("", "deployments") == OTHER, "the group is part of the name"
    assert names.label("", "x" * 20) == OTHER


async def test_no_fetch_until_a_label_was_asked_for() -> None:
    fetch = FakeDiscovery(CORE)
    names = ResourceNames(fetch, clock=FakeClock())
    await names.refresh_if_due(wait=1)
    assert fetch.calls == 0


async def test_unknown_names_refetch_at_most_once_per_interval() -> None:
    clock = FakeClock()
    fetch = FakeDiscovery(CORE, CORE | {("", "widgets")})
    names = ResourceNames(fetch, min_interval=60, max_age=600, clock=clock)
    names.label("", "pods")
    await names.refresh_if_due(wait=1)
    for _ in range(100):
        assert names.label("", "widgets") == OTHER
        await names.refresh_if_due(wait=1)
    assert fetch.calls == 1, "rate-limited"
    clock.advance(61)
    await names.refresh_if_due(wait=1)
    assert fetch.calls == 2
    assert names.label("", "widgets") == "widgets"


async def test_stale_names_are_refetched_after_max_age() -> None:
    clock = FakeClock()
    fetch = FakeDiscovery(CORE)
    names = ResourceNames(fetch, min_interval=60, max_age=600, clock=clock)
    names.label("", "pods")
    await names.refresh_if_due(wait=1)
    clock.advance(300)
    names.label("", "pods")
    await names.refresh_if_due(wait=1)
    assert fetch.calls == 1
    clock.advance(301)
    await names.refresh_if_due(wait=1)
    assert fetch.calls == 2


async def test_a_failed_first_fetch_labels_other_and_retries_later() -> None:
    clock = FakeClock()
    fetch = FakeDiscovery(OSError("connection refused"), CORE)
    names = ResourceNames(fetch, min_interval=60, clock=clock)
    names.label("", "pods")
    await names.refresh_if_due(wait=1)
    assert names.label("", "pods") == OTHER
    await names.refresh_if_due(wait=1)
    assert fetch.calls == 1
    clock.advance(61)
    await names.refresh_if_due(wait=1)
    assert names.label("", "pods") == "pods"


async def test_a_slow_fetch_does_not_hold_the_scrape_past_its_wait() -> None:
    release = asyncio.Event()

    async def slow() -> Names:
        await release.wait()
        return CORE

    names = ResourceNames(slow, clock=FakeClock())
    names.label("", "pods")
    await names.refresh_if_due(wait=0.01)
    assert names.label("", "pods") is None
    release.set()
    await names.refresh_if_due(wait=1)
    assert names.label("", "pods") == "pods"
    await names.close()
