"""Random bearer tokens from one address: a bounded number of TokenReviews, then 429s."""

from __future__ import annotations

import asyncio
import secrets
import time
from pathlib import Path

import aiohttp

from proxy.config import SecurityConfig
from proxy.testing import FakeAPIServer
from tests.integration.conftest import RunningProxy, StartProxy

RATE, BURST = 4.0, 10
ATTEMPTS = 200


def reviews(api: FakeAPIServer) -> int:
    return sum(r.raw_path.endswith("/tokenreviews") for r in api.requests)


async def get_from(proxy: RunningProxy, source: str, token: str) -> aiohttp.ClientResponse:
    """GET /version from the loopback address `source`, with a bearer token."""
    connector = aiohttp.TCPConnector(local_addr=(source, 0))
    async with aiohttp.ClientSession(connector=connector) as session, session.get(
        f"{proxy.url}/version", headers={"Authorization": f"Bearer {token}"}
    ) as response:
        await response.read()
        return response


async def test_unknown_tokens_from_one_address_reviewed_at_the_rate_then_429(
    apiserver: FakeAPIServer, start_proxy: StartProxy, admin_kubeconfig: Path
) -> None:
    proxy = await start_proxy(
        admin_kubeconfig,
        security=SecurityConfig(
            authn="tokenreview", authn_review_qps=RATE, authn_review_burst=BURST
        ),
    )
    apiserver.add_token("good-token", "erin")
    connector = aiohttp.TCPConnector(local_addr=("127.0.0.1", 0), limit=10)
    started = time.monotonic()
    async with aiohttp.ClientSession(connector=connector) as session:

        async def attempt(token: str) -> tuple[int, str | None]:
            async with session.get(
                f"{proxy.url}/version", headers={"Authorization": f"Bearer {token}"}
            ) as response:
                await response.read()
                return response.status, response.headers.get("Retry-After")

        answers = await asyncio.gather(
            *(attempt(secrets.token_urlsafe(24)) for _ in range(ATTEMPTS))
        )
    elapsed = time.monotonic() - started
    statuses = [status for status, _ in answers]
    assert set(statuses) == {401, 429}
    made = reviews(apiserver)
    assert made == statuses.count(401), "a 429 makes no review"
    assert made <= BURST + RATE * elapsed + 1
    assert statuses.count(429) >= ATTEMPTS - (BURST + RATE * elapsed + 1)
    assert all(int(after) >= 1 for status, after in answers if status == 429 and after)
    assert all(after for status, after in answers if status == 429), "each 429 has Retry-After"

    other = await get_from(proxy, "127.0.0.2", "good-token")
    assert other.status == 200, "another address is not throttled"


async def test_repeated_bad_token_costs_one_review_and_is_never_throttled(
    apiserver: FakeAPIServer, start_proxy: StartProxy, admin_kubeconfig: Path
) -> None:
    proxy = await start_proxy(
        admin_kubeconfig,
        security=SecurityConfig(authn="tokenreview", authn_review_qps=1, authn_review_burst=1),
    )
    statuses = [(await get_from(proxy, "127.0.0.3", "mistyped-token")).status for _ in range(30)]
    assert statuses == [401] * 30, "a cached negative answer costs no review"
    assert reviews(apiserver) == 1
