"""WebSocket watches served by the proxy: framing, resume, 410, client close, Origin."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import websockets

from proxy.testing import FakeAPIServer
from tests.integration.conftest import ADMIN_TOKEN, RunningProxy, StartProxy, eventually

CONFIGMAPS = "/api/v1/namespaces/default/configmaps"


def ws_url(proxy: RunningProxy, target: str) -> str:
    return proxy.url.replace("http://", "ws://") + target


async def receive_event(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    message = await ws.receive(timeout=5)
    assert message.type == aiohttp.WSMsgType.TEXT, message
    assert message.data.endswith("\n"), "the API server frames a JSON event with a newline"
    event: dict[str, Any] = json.loads(message.data)
    return event


def watch_requests(api: FakeAPIServer) -> list[str]:
    return [r.raw_path for r in api.requests if "watch=" in r.raw_path]


@pytest.fixture
async def resuming_apiserver() -> AsyncIterator[FakeAPIServer]:
    """An API server that ends every watch after a second, with history for 1,000 changes."""
    async with FakeAPIServer(
        tokens={ADMIN_TOKEN: "admin"}, watch_timeout=1, history_size=5000
    ) as api:
        yield api


async def test_websocket_watch_delivers_added_modified_deleted_as_text_messages(
    apiserver: FakeAPIServer, proxy: RunningProxy, client: aiohttp.ClientSession
) -> None:
    async with client.ws_connect(
        ws_url(proxy, f"{CONFIGMAPS}?watch=true"), headers={"Authorization": "Bearer stolen"}
    ) as ws:
        await apiserver.wait_open_streams(1)
        apiserver.store.create("configmaps", {"metadata": {"name": "a"}}, namespace="default")
        apiserver.store.update(
            "configmaps", {"metadata": {"name": "a"}, "data": {"k": "v"}}, namespace="default"
        )
        apiserver.store.delete("configmaps", "a", namespace="default")
        events = [await receive_event(ws) for _ in range(3)]
    assert [e["type"] for e in events] == ["ADDED", "MODIFIED", "DELETED"]
    assert {e["object"]["metadata"]["name"] for e in events} == {"a"}
    # No Origin was sent, the upstream watch is an ordinary one with the proxy's credential.
    upstream = [r for r in apiserver.requests if "watch=" in r.raw_path]
    assert upstream and all(r.user == "admin" for r in upstream)


async def test_websocket_watch_with_websockets_library_and_legacy_path(
    apiserver: FakeAPIServer, proxy: RunningProxy
) -> None:
    apiserver.store.create("configmaps", {"metadata": {"name": "old"}}, namespace="default")
    bearer = "base64url.bearer.authorization.k8s.io.c3RvbGVu"
    async with websockets.connect(
        ws_url(proxy, "/api/v1/watch/namespaces/default/configmaps"),
        subprotocols=[
            websockets.Subprotocol(bearer),
            websockets.Subprotocol("base64.binary.k8s.io"),
        ],
        max_size=None,
    ) as ws:
        assert ws.subprotocol == "base64.binary.k8s.io"
        first = json.loads(await asyncio.wait_for(ws.recv(), 5))
        apiserver.store.create("configmaps", {"metadata": {"name": "new"}}, namespace="default")
        second = json.loads(await asyncio.wait_for(ws.recv(), 5))
    assert (first["type"], first["object"]["metadata"]["name"]) == ("ADDED", "old")
    assert (second["type"], second["object"]["metadata"]["name"]) == ("ADDED", "new")


async def test_watch_one_spelled_as_1_is_served_over_websocket(
    apiserver: FakeAPIServer, proxy: RunningProxy, client: aiohttp.ClientSession
) -> None:
    apiserver.store.create("configmaps", {"metadata": {"name": "a"}}, namespace="default")
    async with client.ws_connect(ws_url(proxy, f"{CONFIGMAPS}?watch=1")) as ws:
        assert (await receive_event(ws))["type"] == "ADDED"


async def test_websocket_watch_resumes_across_upstream_timeouts_without_loss_or_doubles(
    resuming_apiserver: FakeAPIServer,
    start_proxy: StartProxy,
    client: aiohttp.ClientSession,
    tmp_path: Path,
) -> None:
    api = resuming_apiserver
    proxy = await start_proxy(api.kubeconfig(tmp_path / "k", token=ADMIN_TOKEN))
    made: list[str] = []
    seen: list[dict[str, Any]] = []
    async with client.ws_connect(ws_url(proxy, f"{CONFIGMAPS}?watch=true")) as ws:
        await api.wait_open_streams(1)
        for i in range(1000):
            name = f"cm-{i % 100}"
            if i < 100:
                obj = api.store.create(
                    "configmaps", {"metadata": {"name": name}}, namespace="default"
                )
            else:
                body = {"metadata": {"name": name}, "data": {"i": str(i)}}
                obj = api.store.update("configmaps", body, namespace="default")
            made.append(obj["metadata"]["resourceVersion"])
            if i % 40 == 39:
                await asyncio.sleep(0.1)  # spread the changes over several upstream watches
        async with asyncio.timeout(10):
            while not seen or seen[-1]["object"]["metadata"]["resourceVersion"] != made[-1]:
                seen.append(await receive_event(ws))
    versions = [e["object"]["metadata"]["resourceVersion"] for e in seen]
    assert versions == made, "every change once, in order"
    assert {e["type"] for e in seen} == {"ADDED", "MODIFIED"}, "no bookmarks unless asked"
    assert len(watch_requests(api)) >= 3, "the upstream ended the watch and it was resumed"
    assert all("allowWatchBookmarks=true" in path for path in watch_requests(api))


async def test_bookmarks_reach_the_client_only_when_it_asks(
    resuming_apiserver: FakeAPIServer,
    start_proxy: StartProxy,
    client: aiohttp.ClientSession,
    tmp_path: Path,
) -> None:
    proxy = await start_proxy(resuming_apiserver.kubeconfig(tmp_path / "k", token=ADMIN_TOKEN))
    target = f"{CONFIGMAPS}?watch=true&allowWatchBookmarks=true"
    async with client.ws_connect(ws_url(proxy, target)) as ws:
        event = await receive_event(ws)
    assert event["type"] == "BOOKMARK"


async def test_410_on_reopen_is_delivered_as_error_event_then_normal_close(
    start_proxy: StartProxy, client: aiohttp.ClientSession, tmp_path: Path
) -> None:
    async with FakeAPIServer(tokens={ADMIN_TOKEN: "admin"}, history_size=5) as api:
        proxy = await start_proxy(api.kubeconfig(tmp_path / "k", token=ADMIN_TOKEN))
        async with client.ws_connect(ws_url(proxy, f"{CONFIGMAPS}?watch=true")) as ws:
            await api.wait_open_streams(1)
            api.store.create("configmaps", {"metadata": {"name": "seen"}}, namespace="default")
            assert (await receive_event(ws))["type"] == "ADDED"
            # The connection drops; before the proxy re-opens, history moves past what it saw.
            api.drop_streams()
            for i in range(10):
                api.store.create(
                    "configmaps", {"metadata": {"name": f"x{i}"}}, namespace="kube-system"
                )
            error = await receive_event(ws)
            closing = await ws.receive(timeout=5)
    assert error["type"] == "ERROR"
    assert (error["object"]["code"], error["object"]["reason"]) == (410, "Expired")
    assert closing.type == aiohttp.WSMsgType.CLOSE
    assert closing.data == aiohttp.WSCloseCode.OK


async def test_client_close_ends_the_upstream_watch(
    apiserver: FakeAPIServer, proxy: RunningProxy, client: aiohttp.ClientSession
) -> None:
    async with client.ws_connect(ws_url(proxy, f"{CONFIGMAPS}?watch=true")) as ws:
        async with asyncio.timeout(5):
            await apiserver.wait_open_streams(1)
        await ws.close()
        async with asyncio.timeout(5):
            await apiserver.wait_open_streams(0)


async def test_client_timeout_seconds_is_honoured(
    resuming_apiserver: FakeAPIServer,
    start_proxy: StartProxy,
    client: aiohttp.ClientSession,
    tmp_path: Path,
) -> None:
    proxy = await start_proxy(resuming_apiserver.kubeconfig(tmp_path / "k", token=ADMIN_TOKEN))
    async with client.ws_connect(ws_url(proxy, f"{CONFIGMAPS}?watch=true&timeoutSeconds=2")) as ws:
        closing = await ws.receive(timeout=5)
    assert (closing.type, closing.data) == (aiohttp.WSMsgType.CLOSE, aiohttp.WSCloseCode.OK)
    assert "timeoutSeconds=1" in watch_requests(resuming_apiserver)[-1], "the rest, re-opened"


async def test_upstream_refusal_becomes_error_event_and_error_close(
    proxy: RunningProxy, client: aiohttp.ClientSession
) -> None:
    target = "/api/v1/namespaces/default/widgets?watch=true"
    async with client.ws_connect(ws_url(proxy, target)) as ws:
        error = await receive_event(ws)
        closing = await ws.receive(timeout=5)
    assert (error["type"], error["object"]["kind"], error["object"]["code"]) == (
        "ERROR",
        "Status",
        404,
    )
    assert closing.data == aiohttp.WSCloseCode.INTERNAL_ERROR


async def test_large_object_passes_in_one_message(
    apiserver: FakeAPIServer, proxy: RunningProxy, client: aiohttp.ClientSession
) -> None:
    big = "x" * (5 * 1024 * 1024)
    apiserver.store.create(
        "configmaps", {"metadata": {"name": "big"}, "data": {"big": big}}, namespace="default"
    )
    async with client.ws_connect(ws_url(proxy, f"{CONFIGMAPS}?watch=true"), max_msg_size=0) as ws:
        event = await receive_event(ws)
    assert event["object"]["data"]["big"] == big


async def test_idle_watch_is_pinged(
    apiserver: FakeAPIServer,
    start_proxy: StartProxy,
    client: aiohttp.ClientSession,
    admin_kubeconfig: Path,
) -> None:
    proxy = await start_proxy(admin_kubeconfig, ws_ping_interval=0.2)
    async with client.ws_connect(ws_url(proxy, f"{CONFIGMAPS}?watch=true"), autoping=False) as ws:
        message = await ws.receive(timeout=5)
        assert message.type == aiohttp.WSMsgType.PING
        await ws.pong(message.data)


@pytest.mark.parametrize(
    ("origin", "accepted"),
    [
        pytest.param("http://evil.example", False, id="a foreign page is refused"),
        pytest.param("null", False, id="an opaque origin is refused"),
        pytest.param("http://localhost:3000", True, id="a local page is accepted"),
    ],
)
async def test_websocket_origin_must_be_an_accepted_host(
    proxy: RunningProxy, client: aiohttp.ClientSession, origin: str, accepted: bool
) -> None:
    url = ws_url(proxy, f"{CONFIGMAPS}?watch=true")
    if accepted:
        async with client.ws_connect(url, origin=origin) as ws:
            assert not ws.closed
        return
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        async with client.ws_connect(url, origin=origin):
            pass
    assert refused.value.status == 403


async def test_origin_is_not_checked_with_the_filter_disabled(
    start_proxy: StartProxy, client: aiohttp.ClientSession, admin_kubeconfig: Path
) -> None:
    proxy = await start_proxy(admin_kubeconfig, filter=None)
    url = ws_url(proxy, f"{CONFIGMAPS}?watch=true")
    async with client.ws_connect(url, origin="http://evil.example") as ws:
        assert not ws.closed


async def test_chunked_watch_resumes_with_watch_resume(
    resuming_apiserver: FakeAPIServer,
    start_proxy: StartProxy,
    client: aiohttp.ClientSession,
    tmp_path: Path,
) -> None:
    api = resuming_apiserver
    proxy = await start_proxy(api.kubeconfig(tmp_path / "k", token=ADMIN_TOKEN), watch_resume=True)
    async with client.get(f"{proxy.url}{CONFIGMAPS}?watch=true") as response:
        assert response.status == 200
        api.store.create("configmaps", {"metadata": {"name": "before"}}, namespace="default")
        first = json.loads(await asyncio.wait_for(response.content.readline(), 5))
        await eventually(lambda: len(watch_requests(api)) >= 2)
        api.store.create("configmaps", {"metadata": {"name": "after"}}, namespace="default")
        second = json.loads(await asyncio.wait_for(response.content.readline(), 5))
    assert [first["object"]["metadata"]["name"], second["object"]["metadata"]["name"]] == [
        "before",
        "after",
    ]
