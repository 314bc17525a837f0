"""Metric labels come from a bounded set: random paths cannot add series without end."""

from __future__ import annotations

import asyncio
import random
import re
import string

import aiohttp
from yarl import URL

from tests.integration.conftest import RunningProxy

REQUESTS = 2000
CONCURRENCY = 16
# Label values are verbs, codes, outcomes, discovered resources, `other` and the refusals:
# a few dozen series however many distinct paths arrive.
MAX_SERIES = 250


def random_target(rng: random.Random) -> str:
    word = "rnd" + "".join(rng.choices(string.ascii_lowercase, k=10))
    return rng.choice([
        f"/api/v1/namespaces/default/{word}",  # a resource the API server does not have
        f"/apis/{word}.example.com/v1/namespaces/default/{word}",  # nor a group
        f"/api/v1/namespaces/{word}/configmaps/{word}?labelSelector={word}",  # a known one
        f"/{word}/{word}",  # not the API at all
        f"/api/v1/namespaces/default/pods/{word}/exec",  # refused by the filter
        f"/api/v1/namespaces/default/{word}/../secrets",  # refused as unreadable
        f"/api/v1/namespaces/default/configmaps/{word}/{word}",  # an unknown subresource
    ])


def series(exposition: str) -> list[str]:
    return [line for line in exposition.splitlines() if line and not line.startswith("#")]


async def test_distinct_random_paths_add_a_bounded_number_of_series(
    proxy: RunningProxy, client: aiohttp.ClientSession
) -> None:
    rng = random.Random(11)
    targets = list({random_target(rng) for _ in range(REQUESTS * 2)})[:REQUESTS]
    assert len(targets) == REQUESTS
    queue: asyncio.Queue[str] = asyncio.Queue()
    for target in targets:
        queue.put_nowait(target)

    async def worker() -> None:
        while not queue.empty():
            target = queue.get_nowait()
            async with client.get(URL(proxy.url + target, encoded=True)) as response:
                await response.read()
            if queue.qsize() == REQUESTS // 2:  # a scrape mid-way: discovery is asked for
                async with client.get(f"{proxy.url}/-/metrics") as scraped:
                    await scraped.read()

    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    async with client.get(f"{proxy.url}/-/metrics") as response:
        exposition = await response.text()
    lines = series(exposition)
    assert len(lines) < MAX_SERIES, len(lines)
    assert not [line for line in lines if "rnd" in line], "no label is read off a path"
    resources = set(re.findall(r'resource="([^"]*)"', exposition))
    assert {"configmaps", "other", "filter", "bad_request", ""} <= resources
    total = sum(
        float(line.rsplit(" ", 1)[1])
        for line in lines
        if line.startswith("kube_auth_proxy_requests_total{")
    )
    assert total == REQUESTS, "every request is counted, under a bounded label"
