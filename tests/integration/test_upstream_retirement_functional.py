"""Reloads replace the upstream; a replaced one is closed once its last request ends."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from proxy.serving.app import LIVE, RELOADER
from proxy.testing import FakeAPIServer
from tests.integration.conftest import ADMIN_TOKEN, StartProxy, eventually

CONFIGMAPS = "/api/v1/namespaces/default/configmaps"
RELOADS = 4


def connections_to(port: int) -> int:
    """Established TCP connections from this process to 127.0.0.1:`port` (the proxy's)."""
    count = 0
    for line in Path("/proc/self/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        remote, state = fields[2], fields[3]
        if state == "01" and int(remote.split(":")[1], 16) == port:
            count += 1
    return count


@pytest.fixture
async def ending_apiserver() -> AsyncIterator[FakeAPIServer]:
    """Ends every watch after a second: a WebSocket watch re-opens on its own upstream."""
    async with FakeAPIServer(tokens={ADMIN_TOKEN: "admin"}, watch_timeout=1) as api:
        yield api


async def test_replaced_upstreams_closed_once_idle_while_an_open_watch_keeps_its_own(
    ending_apiserver: FakeAPIServer,
    start_proxy: StartProxy,
    client: aiohttp.ClientSession,
    tmp_path: Path,
) -> None:
    api = ending_apiserver
    proxy = await start_proxy(api.kubeconfig(tmp_path / "kubeconfig"))
    assert proxy.app is not None
    live, reloader = proxy.app[LIVE], proxy.app[RELOADER]
    first = live.targets.current.upstream
    url = proxy.url.replace("http://", "ws://") + f"{CONFIGMAPS}?watch=true"
    async with client.ws_connect(url) as ws:
        async with asyncio.timeout(5):
            await api.wait_open_streams(1)
        replaced = []
        for _ in range(RELOADS):
            async with client.get(f"{proxy.url}/version") as response:
                assert response.status == 200  # leaves a pooled connection on this upstream
            replaced.append(live.targets.current.upstream)
            assert await reloader.reload("test reload")
        async with client.get(f"{proxy.url}/version") as response:
            assert response.status == 200

        await eventually(lambda: all(u.closed for u in replaced[1:]))
        assert not first.closed, "the open watch keeps the upstream it began on"
        # The watch's upstream (its stream and pooled connection) and the current one's.
        await eventually(lambda: connections_to(api.port) <= 3)

        watches = sum("watch=" in r.raw_path for r in api.requests)
        await eventually(lambda: sum("watch=" in r.raw_path for r in api.requests) > watches)
        api.store.create("configmaps", {"metadata": {"name": "after"}}, namespace="default")
        message = await ws.receive(timeout=5)
        event = json.loads(message.data)
        assert (event["type"], event["object"]["metadata"]["name"]) == ("ADDED", "after")
        assert not first.closed

    await eventually(lambda: first.closed)
    await eventually(lambda: connections_to(api.port) <= 1)
    assert (live.retired, live.retiring) == (RELOADS, 0)
    async with client.get(f"{proxy.url}/version") as response:
        assert response.status == 200, "the current upstream serves on"
