"""The proxy in front of an API server that speaks HTTP/2 (the fake behind an h2 front, 100
streams per connection as the kube-apiserver): the same answers as over HTTP/1.1, held
watches multiplexed over few connections, a leaving client costs only its stream."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import h2.errors
import pytest

from proxy.config import LimitsConfig
from proxy.testing.h2_front import H2Front
from proxy.testing.server import FakeAPIServer
from tests.integration.conftest import ADMIN_TOKEN, RunningProxy, StartProxy, eventually

CONFIGMAPS = "/api/v1/namespaces/default/configmaps"


@pytest.fixture
async def front(apiserver: FakeAPIServer) -> AsyncIterator[H2Front]:
    async with H2Front(upstream=apiserver.url, ca=apiserver.ca, max_streams=100) as front:
        yield front


@pytest.fixture
async def h2_proxy(
    start_proxy: StartProxy, apiserver: FakeAPIServer, front: H2Front, tmp_path: Path
) -> RunningProxy:
    kubeconfig = apiserver.kubeconfig(tmp_path / "h2", token=ADMIN_TOKEN, server=front.url)
    return await start_proxy(kubeconfig, upstream_protocol="http2")


@pytest.fixture
async def auto_proxy(
    start_proxy: StartProxy, apiserver: FakeAPIServer, front: H2Front, tmp_path: Path
) -> RunningProxy:
    """The default, `--upstream-protocol auto`."""
    kubeconfig = apiserver.kubeconfig(tmp_path / "auto", token=ADMIN_TOKEN, server=front.url)
    return await start_proxy(kubeconfig, upstream_protocol="auto")


@pytest.fixture
async def http1_proxy(start_proxy: StartProxy, admin_kubeconfig: Path) -> RunningProxy:
    return await start_proxy(admin_kubeconfig, upstream_protocol="http1")


async def answer(
    client: aiohttp.ClientSession, proxy: RunningProxy, method: str, path: str,
    body: Any = None,
) -> tuple[int, str, bytes]:
    async with client.request(method, proxy.url + path, json=body) as response:
        return response.status, response.headers.get("Content-Type", ""), await response.read()


async def test_rest_over_h2_answers_as_over_http1(
    h2_proxy: RunningProxy, http1_proxy: RunningProxy, client: aiohttp.ClientSession,
    front: H2Front,
) -> None:
    status, _, created = await answer(
        client, h2_proxy, "POST", CONFIGMAPS, {"metadata": {"name": "a"}, "data": {"k": "v"}}
    )
    assert status == 201 and json.loads(created)["data"] == {"k": "v"}
    for method, path in [
        ("GET", CONFIGMAPS),
        ("GET", f"{CONFIGMAPS}/a"),
        ("GET", f"{CONFIGMAPS}/missing"),
        ("GET", "/api/v1/namespaces/default/configmaps?labelSelector=%3D%3D"),
        ("GET", "/version"),
    ]:
        over_h2 = await answer(client, h2_proxy, method, path)
        over_http1 = await answer(client, http1_proxy, method, path)
        assert over_h2 == over_http1, path
    status, _, _ = await answer(client, h2_proxy, "DELETE", f"{CONFIGMAPS}/a")
    assert status == 200
    assert front.connections_accepted == 1


async def test_watch_over_h2_sees_the_events_http1_sees(
    h2_proxy: RunningProxy, http1_proxy: RunningProxy, client: aiohttp.ClientSession,
    apiserver: FakeAPIServer, front: H2Front,
) -> None:
    async with (
        client.get(h2_proxy.url + CONFIGMAPS + "?watch=1") as over_h2,
        client.get(http1_proxy.url + CONFIGMAPS + "?watch=1") as over_http1,
    ):
        assert over_h2.status == over_http1.status == 200
        assert over_h2.headers["Content-Type"] == over_http1.headers["Content-Type"]
        apiserver.store.create("configmaps", {"metadata": {"name": "a"}}, namespace="default")
        async with asyncio.timeout(5):
            assert await over_h2.content.readline() == await over_http1.content.readline()
    assert front.connections_accepted == 1


async def test_auto_sends_watches_over_h2_and_rest_over_http1(
    auto_proxy: RunningProxy, client: aiohttp.ClientSession, apiserver: FakeAPIServer,
    front: H2Front,
) -> None:
    status, _, _ = await answer(client, auto_proxy, "GET", CONFIGMAPS)
    assert status == 200
    assert (front.connections_accepted, front.http1_connections_accepted) == (1, 1)
    async with client.get(auto_proxy.url + CONFIGMAPS + "?watch=1") as watch:
        apiserver.store.create("configmaps", {"metadata": {"name": "a"}}, namespace="default")
        async with asyncio.timeout(5):
            assert json.loads(await watch.content.readline())["type"] == "ADDED"
    assert (front.connections_accepted, front.http1_connections_accepted) == (2, 1)


async def test_thousand_held_watches_use_at_most_twelve_upstream_connections(
    auto_proxy: RunningProxy, apiserver: FakeAPIServer, front: H2Front
) -> None:
    count = 1000
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as client:
        watches: list[aiohttp.ClientResponse] = []

        async def hold() -> None:
            response = await client.get(auto_proxy.url + CONFIGMAPS + "?watch=1")
            assert response.status == 200
            watches.append(response)

        try:
            async with asyncio.timeout(60):
                await asyncio.gather(*(hold() for _ in range(count)))
                await eventually(lambda: apiserver.open_streams == count, timeout=30)
            assert front.connections_accepted <= 12
            assert front.open_connections == front.connections_accepted == count // 100
        finally:
            for response in watches:
                response.close()


async def test_client_leaving_resets_its_stream_and_others_go_on(
    h2_proxy: RunningProxy, client: aiohttp.ClientSession, apiserver: FakeAPIServer,
    front: H2Front,
) -> None:
    async with client.get(h2_proxy.url + CONFIGMAPS + "?watch=1") as staying:
        leaving = await client.get(h2_proxy.url + CONFIGMAPS + "?watch=1")
        await eventually(lambda: apiserver.open_streams == 2)
        leaving.close()
        await eventually(lambda: apiserver.open_streams == 1)
        assert front.resets_received == [h2.errors.ErrorCodes.CANCEL]
        assert front.open_connections == 1 == front.connections_accepted
        apiserver.store.create("configmaps", {"metadata": {"name": "a"}}, namespace="default")
        async with asyncio.timeout(5):
            event = json.loads(await staying.content.readline())
        assert event["object"]["metadata"]["name"] == "a"


async def test_followed_log_goes_over_h2_under_auto(
    auto_proxy: RunningProxy, client: aiohttp.ClientSession, apiserver: FakeAPIServer,
    front: H2Front,
) -> None:
    apiserver.run_pod("p")
    path = "/api/v1/namespaces/default/pods/p/log?follow=true"
    async with client.get(auto_proxy.url + path) as log:
        assert log.status == 200
        async with asyncio.timeout(5):
            assert await log.content.readline()
    assert (front.connections_accepted, front.http1_connections_accepted) == (1, 0)


async def test_request_body_over_the_limit_is_refused_over_h2(
    start_proxy: StartProxy, apiserver: FakeAPIServer, front: H2Front, tmp_path: Path,
    client: aiohttp.ClientSession,
) -> None:
    kubeconfig = apiserver.kubeconfig(tmp_path / "h2", token=ADMIN_TOKEN, server=front.url)
    proxy = await start_proxy(
        kubeconfig, upstream_protocol="http2", limits=LimitsConfig(max_body_bytes=1000)
    )

    async def big() -> AsyncIterator[bytes]:
        for _ in range(4):
            yield b"x" * 1000

    async with client.post(proxy.url + CONFIGMAPS, data=big()) as refused:
        assert refused.status == 413
    # Refused while the body went up: its stream was reset, the connection kept.
    await eventually(lambda: front.resets_received == [h2.errors.ErrorCodes.CANCEL])
    status, _, _ = await answer(client, proxy, "GET", CONFIGMAPS)
    assert status == 200
    assert front.connections_accepted == 1


async def test_upstream_without_h2_gets_http1_under_http2(
    start_proxy: StartProxy, admin_kubeconfig: Path, client: aiohttp.ClientSession,
    apiserver: FakeAPIServer,
) -> None:
    proxy = await start_proxy(admin_kubeconfig, upstream_protocol="http2")
    status, _, _ = await answer(client, proxy, "GET", CONFIGMAPS)
    assert status == 200
    async with client.get(proxy.url + CONFIGMAPS + "?watch=1") as watch:
        apiserver.store.create("configmaps", {"metadata": {"name": "a"}}, namespace="default")
        async with asyncio.timeout(5):
            assert json.loads(await watch.content.readline())["type"] == "ADDED"


async def test_the_client_certificate_is_presented_over_h2(
    start_proxy: StartProxy, apiserver: FakeAPIServer, front: H2Front, tmp_path: Path,
    client: aiohttp.ClientSession,
) -> None:
    leaf = apiserver.issue_client_cert("carol", groups=["devs"])
    kubeconfig = apiserver.kubeconfig(
        tmp_path / "cert", server=front.url,
        client_cert_pem=leaf.cert_chain_pems[0].bytes(),
        client_key_pem=leaf.private_key_pem.bytes(),
    )
    proxy = await start_proxy(kubeconfig, upstream_protocol="http2")
    await answer(client, proxy, "GET", CONFIGMAPS)  # the front does not relay who it is
    assert front.client_users == ["carol"]
    assert front.connections_accepted == len(front.client_users) == 1
