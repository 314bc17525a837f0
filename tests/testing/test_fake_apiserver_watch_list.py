"""Watch options as kube-apiserver 1.32 validates and serves them: WatchList
(sendInitialEvents), the initial-events-end bookmark, resourceVersions from the future,
?watch on an object, protobuf framing, and the server-side end of a watch."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest

from proxy.testing import FakeAPIServer
from tests.testing.conftest import ADMIN, ADMIN_TOKEN

CM = "/api/v1/namespaces/default/configmaps"
WAIT = 5.0


async def _events(response: aiohttp.ClientResponse, count: int) -> list[dict[str, Any]]:
    async with asyncio.timeout(WAIT):
        return [json.loads(await response.content.readline()) for _ in range(count)]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        pytest.param(
            "watch=true&sendInitialEvents=true&allowWatchBookmarks=true",
            'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: '
            "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
            id="no resourceVersionMatch",
        ),
        pytest.param(
            "watch=true&sendInitialEvents=true&resourceVersionMatch=Exact&resourceVersion=1",
            'ListOptions.meta.k8s.io "" is invalid: [resourceVersionMatch: Forbidden: '
            "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan, "
            'resourceVersionMatch: Unsupported value: "Exact": supported values: '
            '"NotOlderThan"]',
            id="Exact",
        ),
        pytest.param(
            "sendInitialEvents=true",
            'ListOptions.meta.k8s.io "" is invalid: sendInitialEvents: Forbidden: '
            "sendInitialEvents is forbidden for list",
            id="not a watch",
        ),
    ],
)
async def test_watch_list_options_are_validated_before_streaming(
    strict_session: aiohttp.ClientSession, query: str, message: str
) -> None:
    async with strict_session.get(f"{CM}?{query}", headers=ADMIN) as response:
        body = await response.json()
    assert (response.status, body["reason"], body["message"]) == (422, "Invalid", message)
    assert body["details"]["kind"] == "ListOptions"


async def test_bogus_timeout_is_a_400_with_go_s_message(
    strict_session: aiohttp.ClientSession,
) -> None:
    async with strict_session.get(f"{CM}?watch=true&timeoutSeconds=abc", headers=ADMIN) as r:
        body = await r.json()
    assert (r.status, body["message"]) == (400, 'strconv.ParseInt: parsing "abc": invalid syntax')


async def test_watch_list_sends_initial_events_then_the_end_bookmark(
    strict_api: FakeAPIServer, strict_session: aiohttp.ClientSession
) -> None:
    for name in ("b", "a"):
        strict_api.store.create("configmaps", {"metadata": {"name": name}}, namespace="default")
    query = "watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&" \
            "allowWatchBookmarks=true"
    async with strict_session.get(f"{CM}?{query}", headers=ADMIN) as response:
        events = await _events(response, 3)
        strict_api.store.create("configmaps", {"metadata": {"name": "c"}}, namespace="default")
        (live,) = await _events(response, 1)
    assert [(e["type"], e["object"]["metadata"].get("name")) for e in [*events, live]] == [
        ("ADDED", "a"), ("ADDED", "b"), ("BOOKMARK", None), ("ADDED", "c"),
    ]
    annotations = events[2]["object"]["metadata"]["annotations"]
    assert annotations["k8s.io/initial-events-end"] == "true"
    assert "kubernetes.io/initial-events-list-blueprint" in annotations


async def test_watch_from_the_future_is_silent_until_the_store_gets_there(
    strict_api: FakeAPIServer, strict_session: aiohttp.ClientSession
) -> None:
    future = strict_api.store.resource_version + 2
    async with strict_session.get(f"{CM}?watch=true&resourceVersion={future}", headers=ADMIN) as r:
        assert r.status == 200
        for name in ("one", "two", "three"):
            strict_api.store.create("configmaps", {"metadata": {"name": name}},
                                    namespace="default")
        (event,) = await _events(r, 1)
    assert event["object"]["metadata"]["name"] == "three"


async def test_watch_param_on_an_object_path_is_a_plain_get(
    strict_api: FakeAPIServer, strict_session: aiohttp.ClientSession
) -> None:
    strict_api.store.create("configmaps", {"metadata": {"name": "x"}}, namespace="default")
    async with strict_session.get(f"{CM}/x?watch=true", headers=ADMIN) as response:
        assert (await response.json())["kind"] == "ConfigMap"


async def test_protobuf_watch_frames_each_event_with_a_length_prefix(
    strict_api: FakeAPIServer, strict_session: aiohttp.ClientSession
) -> None:
    strict_api.store.create("configmaps", {"metadata": {"name": "pb"}}, namespace="default")
    headers = {**ADMIN, "Accept": "application/vnd.kubernetes.protobuf"}
    async with strict_session.get(f"{CM}?watch=true&timeoutSeconds=1", headers=headers) as r:
        assert r.headers["Content-Type"] == "application/vnd.kubernetes.protobuf;stream=watch"
        body = await r.read()
    length = int.from_bytes(body[:4], "big")
    assert len(body) == 4 + length
    assert body[4:].startswith(b"\n\x05ADDED") and b"k8s\x00" in body and b"pb" in body


async def test_min_request_timeout_ends_watches_between_it_and_twice_it() -> None:
    async with FakeAPIServer(tokens={ADMIN_TOKEN: "admin"}, min_request_timeout=0.3) as short:
        connector = aiohttp.TCPConnector(ssl=short.client_ssl_context())
        loop = asyncio.get_running_loop()
        async with aiohttp.ClientSession(base_url=short.url, connector=connector) as client:
            began = loop.time()
            async with client.get(f"{CM}?watch=true", headers=ADMIN) as response:
                async with asyncio.timeout(WAIT):
                    assert await response.read() == b""
            lasted = loop.time() - began
            async with client.get(f"{CM}?watch=true&timeoutSeconds=1", headers=ADMIN) as explicit:
                began = loop.time()
                async with asyncio.timeout(WAIT):
                    await explicit.read()
                honoured = loop.time() - began
    assert 0.25 <= lasted < 0.8
    assert honoured >= 0.9
