"""Memory goes back to the OS after many clients drop their watches (bounded load loop)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bench.procfs import rss_bytes
from bench.streams import StreamSet, watch_request
from proxy.ops.memory import TRIM_AVAILABLE
from proxy.serving.eventloop import ASYNCIO, UVLOOP, default_event_loop
from proxy.testing import FakeAPIServer
from tests.conftest import eventually
from tests.e2e.conftest import ProxyProcess, SpawnProxy

WATCH = "/api/v1/namespaces/default/configmaps?watch=true"
ROUNDS, WATCHES = 3, 300
MIB = 1024 * 1024
# Measured: without trimming, 300 dropped watches left uvloop 24-38 MiB and asyncio about
# 97 MiB above the start; with it, about 10 MiB.
BOUND_MIB = 20
# Longer than the trimmer's delay plus its interval (proxy.ops.memory).
SETTLE_SECONDS = 10.0


async def hold_and_drop(proxy: ProxyProcess, api: FakeAPIServer) -> None:
    request = watch_request(WATCH, host=proxy.address, headers={}, websocket=False)
    streams = StreamSet("127.0.0.1", proxy.port, request, None)
    held = await streams.grow_to(WATCHES, concurrency=100, budget=30)
    streams.close()
    assert held == WATCHES
    await eventually(lambda: api.open_streams == 0, timeout=15)


@pytest.mark.parametrize("event_loop", [UVLOOP, ASYNCIO])
async def test_rss_returns_near_its_start_after_rounds_of_dropped_watches(
    event_loop: str, apiserver: FakeAPIServer, admin_kubeconfig: Path, spawn_proxy: SpawnProxy
) -> None:
    if not TRIM_AVAILABLE:
        pytest.skip("no glibc here: the proxy cannot hand freed heap back (malloc_trim)")
    if event_loop == UVLOOP and default_event_loop() != UVLOOP:
        pytest.skip("uvloop is not installed")
    apiserver.store.create("configmaps", {"metadata": {"name": "one"}}, namespace="default")
    proxy = await spawn_proxy("--kubeconfig", str(admin_kubeconfig), "--event-loop", event_loop)
    await asyncio.sleep(0.5)
    start = rss_bytes([proxy.process.pid]) / MIB
    after: list[float] = []
    for _ in range(ROUNDS):
        await hold_and_drop(proxy, apiserver)
        await eventually(
            lambda: rss_bytes([proxy.process.pid]) / MIB <= start + BOUND_MIB,
            timeout=SETTLE_SECONDS,
        )
        after.append(rss_bytes([proxy.process.pid]) / MIB)
    assert after[2] - after[1] < BOUND_MIB / 2, f"RSS MiB from {start:.0f}: {after}"
