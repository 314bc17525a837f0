"""The fake's own WebSocket watch (API server framing, Origin required) and its exec endpoint."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest

from proxy.testing import FakeAPIServer

CONFIGMAPS = "/api/v1/namespaces/default/configmaps?watch=true"


async def test_websocket_watch_without_origin_is_refused_as_by_the_api_server(
    session: aiohttp.ClientSession, auth: dict[str, str]
) -> None:
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        async with session.ws_connect(CONFIGMAPS, headers=auth):
            pass
    assert refused.value.status == 403


async def test_websocket_watch_sends_each_event_as_a_json_line_text_message(
    api: FakeAPIServer, session: aiohttp.ClientSession, auth: dict[str, str]
) -> None:
    async with session.ws_connect(CONFIGMAPS, headers=auth, origin="http://localhost") as ws:
        await asyncio.wait_for(api.wait_open_streams(1), 5)
        api.store.create("configmaps", {"metadata": {"name": "a"}}, namespace="default")
        message = await ws.receive(timeout=5)
    assert message.type == aiohttp.WSMsgType.TEXT
    assert message.data.endswith("\n")
    assert json.loads(message.data)["type"] == "ADDED"
    await asyncio.wait_for(api.wait_open_streams(0), 5)


async def test_exec_echoes_stdin_until_closed_then_reports_success(
    api: FakeAPIServer, session: aiohttp.ClientSession, auth: dict[str, str]
) -> None:
    api.run_pod("p")
    target = "/api/v1/namespaces/default/pods/p/exec?command=cat&stdin=true&stdout=true"
    async with session.ws_connect(target, headers=auth, protocols=("v5.channel.k8s.io",)) as ws:
        assert (await ws.receive(timeout=5)).data == b"\x01"
        await ws.send_bytes(b"\x00abc")
        assert (await ws.receive(timeout=5)).data == b"\x01abc"
        await ws.send_bytes(b"\xff\x00")
        status = await ws.receive(timeout=5)
    assert status.data[:1] == b"\x03"
    assert json.loads(status.data[1:]) == {"metadata": {}, "status": "Success"}


async def test_exec_without_websocket_is_a_bad_request(
    api: FakeAPIServer, session: aiohttp.ClientSession, auth: dict[str, str]
) -> None:
    api.run_pod("p")
    async with session.post(
        "/api/v1/namespaces/default/pods/p/exec?command=ls", headers=auth
    ) as response:
        assert response.status == 400
