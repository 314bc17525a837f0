"""Forwarding: paths as sent, bodies streamed both ways, watch events as they happen."""

from __future__ import annotations

import asyncio
import gzip
import json
from pathlib import Path

import aiohttp
import pytest
import yaml
from yarl import URL

from proxy.testing import FakeAPIServer
from tests.integration.conftest import ADMIN_TOKEN, RunningProxy, StartProxy, eventually


@pytest.mark.parametrize(
    "target",
    [
        pytest.param("/api/v1/namespaces/default/configmaps/a%2Fb", id="encoded slash kept"),
        pytest.param(
            "/api/v1/namespaces?labelSelector=app%3Dweb%2Ctier%21%3Ddb&limit=1",
            id="query kept byte for byte",
        ),
        pytest.param("/api/v1/namespaces/default/configmaps/%7Ename", id="encoded tilde kept"),
        pytest.param(
            "/apis/apps/v1/namespaces/default/deployments?fieldSelector=a%3D%2B",
            id="plus sign encoded",
        ),
    ],
)
async def test_path_and_query_reach_upstream_unchanged(
    apiserver: FakeAPIServer, proxy: RunningProxy, client: aiohttp.ClientSession, target: str
) -> None:
    async with client.get(URL(proxy.url + target, encoded=True)) as response:
        await response.read()
    assert apiserver.requests[-1].raw_path == target


async def test_server_path_prefix_kept_unless_asked(
    apiserver: FakeAPIServer,
    start_proxy: StartProxy,
    client: aiohttp.ClientSession,
    tmp_path: Path,
) -> None:
    path = apiserver.kubeconfig(tmp_path / "k", token=ADMIN_TOKEN)
    document = yaml.safe_load(path.read_text())
    document["clusters"][0]["cluster"]["server"] += "/k8s/clusters/c-1/"
    path.write_text(yaml.safe_dump(document))

    kept = await start_proxy(path)
    async with client.get(f"{kept.url}/api/v1/namespaces") as response:
        await response.read()
    assert apiserver.requests[-1].raw_path == "/k8s/clusters/c-1/api/v1/namespaces"

    dropped = await start_proxy(path, append_server_path=False)
    async with client.get(f"{dropped.url}/api/v1/namespaces") as response:
        await response.read()
    assert apiserver.requests[-1].raw_path == "/api/v1/namespaces"


async def test_crud_with_bodies(
    apiserver: FakeAPIServer, proxy: RunningProxy, client: aiohttp.ClientSession
) -> None:
    base = f"{proxy.url}/api/v1/namespaces/default/configmaps"
    created = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "crud"},
        "data": {"k": "v" * 100_000},
    }
    async with client.post(base, json=created) as response:
        assert response.status == 201, await response.text()
        body = await response.json()
    assert body["data"]["k"] == created["data"]["k"]
    patch = {"data": {"k": "patched"}}
    async with client.patch(
        f"{base}/crud",
        data=json.dumps(patch),
        headers={"Content-Type": "application/merge-patch+json"},
    ) as response:
        assert response.status == 200
        assert (await response.json())["data"]["k"] == "patched"
    async with client.delete(f"{base}/crud") as response:
        assert response.status == 200
    async with client.get(f"{base}/crud") as response:
        assert response.status == 404
        assert (await response.json())["reason"] == "NotFound"


async def test_request_body_streams_without_content_length(
    apiserver: FakeAPIServer, proxy: RunningProxy, client: aiohttp.ClientSession
) -> None:
    payload = json.dumps(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "chunked"},
            "data": {"k": "v"},
        }
    ).encode()

    async def pieces():  # type: ignore[no-untyped-def]
        for start in range(0, len(payload), 7):
            yield payload[start : start + 7]

    async with client.post(
        f"{proxy.url}/api/v1/namespaces/default/configmaps",
        data=pieces(),
        headers={"Content-Type": "application/json"},
    ) as response:
        assert response.status == 201, await response.text()


async def test_head_answer_relayed_without_a_body(
    apiserver: FakeAPIServer, proxy: RunningProxy, client: aiohttp.ClientSession
) -> None:
    async with client.head(f"{proxy.url}/api/v1/namespaces/default") as response:
        # The fake API server has no HEAD route: its 405 comes with a length, and no body.
        assert response.status == 405
        assert int(response.headers["Content-Length"]) > 0
        assert await response.read() == b""
    assert apiserver.requests[-1].method == "HEAD"


async def test_compressed_response_passes_compressed(
    apiserver: FakeAPIServer, proxy: RunningProxy
) -> None:
    for index in range(40):
        apiserver.store.create(
            "configmaps",
            {"metadata": {"name": f"bulk-{index}"}, "data": {"k": "x" * 8192}},
            namespace="default",
        )
    async with (
        aiohttp.ClientSession(auto_decompress=False) as raw,
        raw.get(
            f"{proxy.url}/api/v1/namespaces/default/configmaps",
            headers={"Accept-Encoding": "gzip"},
        ) as response,
    ):
        assert response.status == 200
        assert response.headers["Content-Encoding"] == "gzip"
        body = await response.read()
    listed = json.loads(gzip.decompress(body))
    assert len(listed["items"]) == 40


async def test_log_follow_lines_arrive_as_written(
    apiserver: FakeAPIServer, proxy: RunningProxy, client: aiohttp.ClientSession
) -> None:
    apiserver.run_pod("chatty")  # a pod that runs: an unscheduled one has no log (204)
    url = f"{proxy.url}/api/v1/namespaces/default/pods/chatty/log?follow=true"
    async with client.get(url) as response:
        assert response.status == 200
        lines = [await asyncio.wait_for(response.content.readline(), 5) for _ in range(3)]
        assert all(line.endswith(b"\n") for line in lines)
        assert len(set(lines)) == 3
        assert not response.content.at_eof()


async def test_watch_events_arrive_one_at_a_time(
    apiserver: FakeAPIServer, proxy: RunningProxy, client: aiohttp.ClientSession
) -> None:
    url = f"{proxy.url}/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=0"
    async with client.get(url, timeout=aiohttp.ClientTimeout(total=20)) as response:
        assert response.status == 200
        assert response.headers.get("Content-Length") is None
        for index in range(3):
            name = f"watched-{index}"
            async with client.post(
                f"{proxy.url}/api/v1/namespaces/default/configmaps",
                json={"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}},
            ) as created:
                assert created.status == 201
            # The event must arrive while the stream is still open, not at its end.
            line = await asyncio.wait_for(response.content.readline(), 5)
            event = json.loads(line)
            assert event["type"] == "ADDED"
            assert event["object"]["metadata"]["name"] == name
        assert not response.content.at_eof()


async def test_client_disconnect_ends_the_upstream_watch(
    apiserver: FakeAPIServer, proxy: RunningProxy
) -> None:
    async with aiohttp.ClientSession() as session:
        response = await session.get(f"{proxy.url}/api/v1/namespaces/default/configmaps?watch=1")
        assert response.status == 200
        await eventually(lambda: apiserver.open_streams == 1)
        response.close()
    await eventually(lambda: apiserver.open_streams == 0)


async def test_large_response_streams_through(
    apiserver: FakeAPIServer, proxy: RunningProxy, client: aiohttp.ClientSession
) -> None:
    apiserver.run_pod("big")
    size = 20 * 1024 * 1024
    received = 0
    async with client.get(
        f"{proxy.url}/api/v1/namespaces/default/pods/big/log?limitBytes={size}"
    ) as response:
        assert response.status == 200, await response.text()
        async for chunk in response.content.iter_any():
            received += len(chunk)
    assert received == size


async def test_the_proxy_names_no_server_of_its_own(
    proxy: RunningProxy, client: aiohttp.ClientSession
) -> None:
    """Forwarded answers and the proxy's own carry no `Server` aiohttp added (the fake is
    aiohttp too: its own default goes the same way, as a kube-apiserver sends none)."""
    for path in ("/api/v1/namespaces", "/api/v1/namespaces/default/configmaps/missing",
                 "/-/livez", "/api/v1/namespaces/default/pods/p/attach"):
        async with client.get(proxy.url + path) as answer:
            assert "Server" not in answer.headers, (path, answer.status)
