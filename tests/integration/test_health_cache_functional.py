"""`/-/readyz` through a running proxy: probes are answered from a short cache, so a busy
prober cannot hammer the API server (proxy/ops/health.py's `CACHE_SECONDS`)."""

from __future__ import annotations

from pathlib import Path

import aiohttp

from proxy.ops.health import CACHE_SECONDS
from proxy.testing import FakeAPIServer
from tests.conftest import FakeClock
from tests.integration.conftest import StartProxy


async def test_readyz_asks_the_api_server_once_per_cache_window(
    apiserver: FakeAPIServer,
    start_proxy: StartProxy,
    client: aiohttp.ClientSession,
    tmp_path: Path,
) -> None:
    clock = FakeClock()
    proxy = await start_proxy(apiserver.kubeconfig(tmp_path / "k"), clock=clock)

    def version_checks() -> int:
        return sum(1 for seen in apiserver.requests if seen.raw_path == "/version")

    before = version_checks()
    for _ in range(3):
        async with client.get(f"{proxy.url}/-/readyz") as response:
            assert (response.status, await response.text()) == (200, "ok")
    assert version_checks() == before + 1

    clock.advance(CACHE_SECONDS)
    async with client.get(f"{proxy.url}/-/readyz") as response:
        assert response.status == 200
    assert version_checks() == before + 2
