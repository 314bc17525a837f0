"""Watches through the proxy: curl's chunked stream, and a WebSocket the proxy keeps alive."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from tests.cluster.conftest import PING_INTERVAL
from tests.cluster.harness import ProxyProcess

MERGE_PATCH = "application/merge-patch+json"


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(raise_for_status=True) as client:
        yield client


class ConfigMaps:
    """ConfigMaps of one scenario (by label) in the namespace, changed through the proxy."""

    def __init__(self, session: aiohttp.ClientSession, proxy: ProxyProcess, namespace: str,
                 scenario: str) -> None:
        self._session = session
        self.label = f"kap-e2e/scenario={scenario}"
        self.url = f"{proxy.url}/api/v1/namespaces/{namespace}/configmaps"

    def watch_path(self, version: str) -> str:
        return f"{self.url}?watch=true&resourceVersion={version}&labelSelector={self.label}"

    async def version(self) -> str:
        async with self._session.get(self.url, params={"labelSelector": self.label}) as answer:
            listed = await answer.json()
        return str(listed["metadata"]["resourceVersion"])

    async def create(self, name: str) -> None:
        key, value = self.label.split("=")
        body = {"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": name, "labels": {key: value}}}
        async with self._session.post(self.url, json=body):
            pass

    async def patch(self, name: str, data: dict[str, str]) -> None:
        async with self._session.patch(f"{self.url}/{name}", data=json.dumps({"data": data}),
                                       headers={"Content-Type": MERGE_PATCH}):
            pass


def summary(event: dict[str, Any]) -> tuple[str, str]:
    return event["type"], event["object"]["metadata"]["name"]


async def test_curl_chunked_watch_streams_each_change_as_it_happens(
    proxy: ProxyProcess, namespace: str, session: aiohttp.ClientSession
) -> None:
    configmaps = ConfigMaps(session, proxy, namespace, "curl-watch")
    curl = await asyncio.create_subprocess_exec(
        "curl", "--silent", "--show-error", "--no-buffer", "--max-time", "60",
        configmaps.watch_path(await configmaps.version()),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    assert curl.stdout is not None
    try:
        # Each change is made only after the line of the one before: nothing is held back.
        await configmaps.create("curled")
        async with asyncio.timeout(20):
            added = json.loads(await curl.stdout.readline())
        await configmaps.patch("curled", {"step": "patched"})
        async with asyncio.timeout(20):
            modified = json.loads(await curl.stdout.readline())
    finally:
        curl.kill()
        await curl.wait()
    assert [summary(added), summary(modified)] == [("ADDED", "curled"), ("MODIFIED", "curled")]
    assert modified["object"]["data"] == {"step": "patched"}


async def test_websocket_watch_stays_open_across_three_pings_while_objects_change(
    proxy: ProxyProcess, namespace: str, session: aiohttp.ClientSession
) -> None:
    configmaps = ConfigMaps(session, proxy, namespace, "websocket-watch")
    url = configmaps.watch_path(await configmaps.version()).replace("http://", "ws://", 1)
    pings, events = 0, list[tuple[str, str]]()
    # Pongs are sent by hand, so the pings are counted; a change is made at the start and
    # after each ping, and the event of the last comes only after three ping intervals.
    async with session.ws_connect(url, autoping=False) as ws:
        await configmaps.create("websocket-0")
        while pings < 3 or len(events) <= pings:
            message = await ws.receive(timeout=2 * PING_INTERVAL + 1)
            if message.type == aiohttp.WSMsgType.PING:
                pings += 1
                await ws.pong(message.data)
                await configmaps.create(f"websocket-{pings}")
            elif message.type == aiohttp.WSMsgType.TEXT:
                events.append(summary(json.loads(message.data)))
            else:
                pytest.fail(f"the watch ended after {pings} pings and {len(events)} events: "
                            f"{message.type.name} {ws.close_code} {message.extra or ''}")
    assert events == [("ADDED", f"websocket-{n}") for n in range(4)]
