"""Watch and log streaming of the fake API server: events arrive one at a time, as they happen."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import aiohttp

from proxy.testing import FakeAPIServer

CM_PATH = "/api/v1/namespaces/default/configmaps"
WAIT = 5.0  # upper bound for anything awaited; tests normally take milliseconds


def configmap(name: str, **labels: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": labels}, "data": {"k": "v"}}


async def next_event(response: aiohttp.ClientResponse) -> dict[str, Any]:
    async with asyncio.timeout(WAIT):
        line = await response.content.readline()
    assert line.endswith(b"\n"), line
    event: dict[str, Any] = json.loads(line)
    return event


async def assert_quiet(response: aiohttp.ClientResponse, *, seconds: float) -> None:
    """Nothing arrives, and the stream stays open, for `seconds`."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            line = await response.content.readline()
            raise AssertionError(f"expected silence, got {line!r}")
    assert not response.content.at_eof()


async def test_watch_streams_each_change_as_it_happens(
    api: FakeAPIServer, session: aiohttp.ClientSession, auth: dict[str, str]
) -> None:
    rv = api.store.resource_version
    async with session.get(f"{CM_PATH}?watch=true&resourceVersion={rv}", headers=auth) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "application/json"
        assert response.headers["Transfer-Encoding"] == "chunked"
        api.store.create("configmaps", configmap("a"), namespace="default")
        added = await next_event(response)
        assert added["type"] == "ADDED"
        assert added["object"]["kind"] == "ConfigMap"
        assert added["object"]["apiVersion"] == "v1"
        api.store.update("configmaps", {**configmap("a"), "data": {"k": "2"}}, namespace="default")
        modified = await next_event(response)
        assert modified["type"] == "MODIFIED"
        assert modified["object"]["data"] == {"k": "2"}
        api.store.delete("configmaps", "a", namespace="default")
        deleted = await next_event(response)
        assert deleted["type"] == "DELETED"
        rvs = [int(e["object"]["metadata"]["resourceVersion"]) for e in (added, modified, deleted)]
        assert rvs == sorted(rvs) and len(set(rvs)) == 3


async def test_watch_without_resource_version_starts_with_current_objects(
    api: FakeAPIServer, session: aiohttp.ClientSession, auth: dict[str, str]
) -> None:
    async with session.get("/api/v1/watch/namespaces", headers=auth) as response:
        first = [await next_event(response), await next_event(response)]
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in first] == [
        ("ADDED", "default"),
        ("ADDED", "kube-system"),
    ]


async def test_watch_replays_history_after_resource_version(
    api: FakeAPIServer, session: aiohttp.ClientSession, auth: dict[str, str]
) -> None:
    created = api.store.create("configmaps", configmap("a"), namespace="default")
    api.store.delete("configmaps", "a", namespace="default")
    rv = created["metadata"]["resourceVersion"]
    async with session.get(f"{CM_PATH}?watch=1&resourceVersion={rv}", headers=auth) as response:
        assert (await next_event(response))["type"] == "DELETED"


async def test_watch_from_too_old_resource_version_gets_410_error_event(
    session: aiohttp.ClientSession, auth: dict[str, str]
) -> None:
    async with FakeAPIServer(history_size=2) as small:
        for index in range(4):
            small.store.create("configmaps", configmap(f"c{index}"), namespace="default")
        connector = aiohttp.TCPConnector(ssl=small.client_ssl_context())
        async with (
            aiohttp.ClientSession(base_url=small.url, connector=connector) as client,
            client.get(f"{CM_PATH}?watch=true&resourceVersion=1", headers=auth) as response,
        ):
            assert response.status == 200
            events = [json.loads(line) async for line in response.content]
    assert events == [
        {
            "type": "ERROR",
            "object": {
                "kind": "Status",
                "apiVersion": "v1",
                "metadata": {},
                "status": "Failure",
                "message": "too old resource version: 1 (6)",
                "reason": "Expired",
                "code": 410,
            },
        }
    ]


async def test_watch_sends_bookmarks_when_allowed_once_the_store_moved_on(
    api: FakeAPIServer, session: aiohttp.ClientSession, auth: dict[str, str]
) -> None:
    rv = api.store.resource_version
    url = f"{CM_PATH}?watch=true&allowWatchBookmarks=true&resourceVersion={rv}"
    async with session.get(url, headers=auth) as response:
        # Several bookmark intervals pass, but nothing changed: no bookmark.
        await assert_quiet(response, seconds=0.3)
        other = api.store.create("configmaps", configmap("elsewhere"), namespace="kube-system")
        bookmark = await next_event(response)
    assert bookmark == {
        "type": "BOOKMARK",
        "object": {
            "kind": "ConfigMap",
            "apiVersion": "v1",
            "metadata": {
                "resourceVersion": other["metadata"]["resourceVersion"],
                "creationTimestamp": None,
            },
        },
    }


async def test_watch_from_now_with_bookmarks_marks_the_end_of_initial_events(
    api: FakeAPIServer, session: aiohttp.ClientSession, auth: dict[str, str]
) -> None:
    api.store.create("configmaps", configmap("b"), namespace="default")
    api.store.create("configmaps", configmap("a"), namespace="default")
    async with session.get(f"{CM_PATH}?watch=true&allowWatchBookmarks=true", headers=auth) as r:
        events = [await next_event(r) for _ in range(3)]
    assert [e["type"] for e in events] == ["ADDED", "ADDED", "BOOKMARK"]
    assert [e["object"]["metadata"].get("name") for e in events[:2]] == ["a", "b"]
    annotations = events[2]["object"]["metadata"]["annotations"]
    assert annotations["k8s.io/initial-events-end"] == "true"


async def test_watch_ends_after_timeout_seconds(
    api: FakeAPIServer, session: aiohttp.ClientSession, auth: dict[str, str]
) -> None:
    rv = api.store.resource_version
    loop = asyncio.get_running_loop()
    began = loop.time()
    async with (
        session.get(
            f"{CM_PATH}?watch=true&timeoutSeconds=1&resourceVersion={rv}", headers=auth
        ) as response,
        asyncio.timeout(WAIT),
    ):
        assert await response.read() == b""
    assert 0.9 < loop.time() - began < 3


async def test_watch_with_timeout_seconds_zero_stays_open(
    api: FakeAPIServer, session: aiohttp.ClientSession, auth: dict[str, str]
) -> None:
    url = f"{CM_PATH}?watch=true&timeoutSeconds=0&resourceVersion={api.store.resource_version}"
    async with session.get(url, headers=auth) as response:
        await assert_quiet(response, seconds=0.3)
        api.store.create("configmaps", configmap("late"), namespace="default")
        assert (await next_event(response))["type"] == "ADDED"


async def test_server_watch_timeout_ends_every_watch(auth: dict[str, str]) -> None:
    async with FakeAPIServer(watch_timeout=0.2) as short:
        connector = aiohttp.TCPConnector(ssl=short.client_ssl_context())
        async with (
            aiohttp.ClientSession(base_url=short.url, connector=connector) as client,
            client.get(f"{CM_PATH}?watch=true", headers=auth) as response,
            asyncio.timeout(WAIT),
        ):
            assert await response.read() == b""
        assert short.open_streams == 0


async def test_selector_transitions_become_added_and_deleted(
    api: FakeAPIServer, session: aiohttp.ClientSession, auth: dict[str, str]
) -> None:
    rv = api.store.resource_version
    url = f"{CM_PATH}?watch=true&labelSelector=app%3Dx&resourceVersion={rv}"
    async with session.get(url, headers=auth) as response:
        api.store.create("configmaps", configmap("a"), namespace="default")
        api.store.update("configmaps", configmap("a", app="x"), namespace="default")
        assert (await next_event(response))["type"] == "ADDED"
        api.store.update("configmaps", configmap("a", app="y"), namespace="default")
        assert (await next_event(response))["type"] == "DELETED"


async def test_table_watch_carries_tables_with_headers_once(
    api: FakeAPIServer, session: aiohttp.ClientSession, auth: dict[str, str]
) -> None:
    headers = {**auth, "Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"}
    async with session.get("/api/v1/namespaces?watch=true", headers=headers) as response:
        first, second = await next_event(response), await next_event(response)
    assert first["object"]["kind"] == "Table"
    assert first["object"]["columnDefinitions"][0]["name"] == "Name"
    assert second["object"]["columnDefinitions"] is None
    assert second["object"]["rows"][0]["cells"][0] == "kube-system"


async def test_open_streams_drop_to_zero_when_the_client_disconnects(
    api: FakeAPIServer, session: aiohttp.ClientSession, auth: dict[str, str]
) -> None:
    response = await session.get(f"{CM_PATH}?watch=true", headers=auth)
    async with asyncio.timeout(WAIT):
        await api.wait_open_streams(1)
    response.close()
    async with asyncio.timeout(WAIT):
        await api.wait_open_streams(0)


async def test_log_limit_bytes_streams_exactly_that_many_bytes(
    api: FakeAPIServer, session: aiohttp.ClientSession, auth: dict[str, str]
) -> None:
    api.run_pod("p")
    url = "/api/v1/namespaces/default/pods/p/log?limitBytes=3000001"
    async with session.get(url, headers=auth) as response:
        assert response.headers["Content-Type"] == "text/plain"
        body = await response.read()
    assert len(body) == 3_000_001
    assert body.startswith(b"00000001 p/main: ")


async def test_log_follow_streams_until_the_client_goes(
    api: FakeAPIServer, session: aiohttp.ClientSession, auth: dict[str, str]
) -> None:
    api.run_pod("p")
    url = "/api/v1/namespaces/default/pods/p/log?follow=true"
    response = await session.get(url, headers=auth)
    async with asyncio.timeout(WAIT):
        assert (await response.content.readline()).startswith(b"00000001 ")
        assert (await response.content.readline()).startswith(b"00000002 ")
    assert api.open_streams == 1
    response.close()
    async with asyncio.timeout(WAIT):
        await api.wait_open_streams(0)


async def test_stop_ends_open_watches_promptly(auth: dict[str, str]) -> None:
    server = FakeAPIServer()
    await server.start()
    connector = aiohttp.TCPConnector(ssl=server.client_ssl_context())
    async with aiohttp.ClientSession(base_url=server.url, connector=connector) as client:
        response = await client.get(f"{CM_PATH}?watch=true", headers=auth)
        async with asyncio.timeout(WAIT):
            await server.wait_open_streams(1)
            await server.stop()
        assert server.open_streams == 0
        response.close()
