"""The HTTP/2 transport against an h2 front of the fake API server: streams share connections
up to the server's limit, a reader holds up only its own stream, a leaver resets only its
stream, GOAWAY and a dead peer are survived, and a server without h2 gets HTTP/1.1."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import ssl
from collections.abc import AsyncIterator
from typing import Any

import h2.errors
import pytest
import uvloop
from multidict import CIMultiDict

from proxy.errors import UpstreamError, UpstreamUnreachableError
from proxy.testing.h2_front import H2Front
from proxy.testing.server import FakeAPIServer
from proxy.upstream.endpoint import Endpoint
from proxy.upstream.http1_transport import Http1Transport
from proxy.upstream.http2_connection import STREAM_WINDOW
from proxy.upstream.http2_stream import response_head
from proxy.upstream.http2_transport import Http2Transport, h2_request_headers
from proxy.upstream.transport import RequestBody, RequestHead, Response, ResponseBody
from tests.conftest import ADMIN_TOKEN, eventually

WATCH = "/api/v1/namespaces/default/configmaps?watch=1"
LIST = "/api/v1/namespaces/default/configmaps"


class CountingFallback:
    """The HTTP/1.1 transport, counting what it was handed."""

    def __init__(self, inner: Http1Transport) -> None:
        self.inner = inner
        self.sent = 0

    async def start(self) -> None:
        await self.inner.start()

    async def send(self, request: RequestHead, body: RequestBody) -> Response:
        self.sent += 1
        return await self.inner.send(request, body)

    async def close(self) -> None:
        await self.inner.close()


class Events:
    """A watch's events, one JSON line at a time."""

    def __init__(self, body: ResponseBody) -> None:
        self.body = body
        self._buffer = b""

    async def next(self) -> dict[str, Any]:
        async with asyncio.timeout(5):
            while b"\n" not in self._buffer:
                piece = await self.body.read()
                assert piece, "the watch ended"
                self._buffer += piece
        line, self._buffer = self._buffer.split(b"\n", 1)
        event: dict[str, Any] = json.loads(line)
        return event


@functools.cache
def h2_context(api: FakeAPIServer) -> ssl.SSLContext:
    """One context per server, as UpstreamTLS keeps one per certificate (connections are
    pooled by context)."""
    context = api.client_ssl_context()
    context.set_alpn_protocols(["h2", "http/1.1"])
    return context


def request(api: FakeAPIServer, target: str, method: str = "GET") -> RequestHead:
    headers = CIMultiDict({"Authorization": f"Bearer {ADMIN_TOKEN}", "Accept": "application/json"})
    return RequestHead(method=method, target=target, headers=headers, tls=h2_context(api))


@pytest.fixture
async def front(apiserver: FakeAPIServer) -> AsyncIterator[H2Front]:
    async with H2Front(upstream=apiserver.url, ca=apiserver.ca, max_streams=3) as front:
        yield front


async def started(
    url: str, *, keepalive: float = 0.0, **timers: float
) -> tuple[Http2Transport, CountingFallback]:
    endpoint = Endpoint(url)
    fallback = CountingFallback(Http1Transport(endpoint, connect_timeout=5, keepalive=0))
    await fallback.start()
    transport = Http2Transport(
        endpoint, connect_timeout=5, keepalive=keepalive, fallback=fallback, **timers
    )
    await transport.start()
    return transport, fallback


@contextlib.asynccontextmanager
async def running(url: str, *, keepalive: float = 0.0, **timers: float
                  ) -> AsyncIterator[tuple[Http2Transport, CountingFallback]]:
    transport, fallback = await started(url, keepalive=keepalive, **timers)
    try:
        yield transport, fallback
    finally:
        await transport.close()
        await fallback.close()


@pytest.fixture
async def transport(front: H2Front) -> AsyncIterator[Http2Transport]:
    transport, fallback = await started(front.url)
    yield transport
    await transport.close()
    await fallback.close()


async def watch(transport: Http2Transport, api: FakeAPIServer) -> Events:
    response = await transport.send(request(api, WATCH), None)
    assert response.head.status == 200
    return Events(response.body)


def create(api: FakeAPIServer, name: str, size: int = 10) -> None:
    api.store.create(
        "configmaps", {"metadata": {"name": name}, "data": {"blob": "x" * size}},
        namespace="default",
    )


async def test_rest_answer_comes_back_without_pseudo_headers(
    transport: Http2Transport, apiserver: FakeAPIServer, front: H2Front
) -> None:
    posted = await transport.send(
        request(apiserver, LIST, "POST"), json.dumps({"metadata": {"name": "a"}}).encode()
    )
    assert posted.head.status == 201 and posted.head.reason == "Created"
    while await posted.body.read():
        pass
    posted.body.close()
    listed = await transport.send(request(apiserver, LIST), None)
    assert listed.head.headers["Content-Type"] == "application/json"
    assert not [name for name in listed.head.headers if name.startswith(":")]
    names = [item["metadata"]["name"] for item in json.loads(await listed.body.read())["items"]]
    listed.body.close()
    assert names == ["a"]
    assert front.connections_accepted == 1, "both over one connection"


async def test_streams_fill_a_connection_up_to_the_servers_limit_then_open_another(
    transport: Http2Transport, apiserver: FakeAPIServer, front: H2Front
) -> None:
    watches = await asyncio.gather(*(watch(transport, apiserver) for _ in range(7)))
    assert front.connections_accepted == 3, "3 streams allowed on each: 3 + 3 + 1"
    create(apiserver, "a")
    for events in watches:
        assert (await events.next())["type"] == "ADDED"
    for events in watches:
        events.body.close()


async def test_client_leaving_resets_its_stream_and_the_connection_stays(
    transport: Http2Transport, apiserver: FakeAPIServer, front: H2Front
) -> None:
    leaving, staying = await watch(transport, apiserver), await watch(transport, apiserver)
    await eventually(lambda: apiserver.open_streams == 2)
    leaving.body.close()
    await eventually(lambda: apiserver.open_streams == 1)
    assert front.resets_received == [h2.errors.ErrorCodes.CANCEL]
    assert front.open_connections == 1 and front.connections_accepted == 1
    create(apiserver, "a")
    assert (await staying.next())["object"]["metadata"]["name"] == "a"
    staying.body.close()


async def test_slow_reader_holds_up_only_its_own_stream(
    transport: Http2Transport, apiserver: FakeAPIServer, front: H2Front
) -> None:
    slow, fast = await watch(transport, apiserver), await watch(transport, apiserver)
    count, size = 12, 64 * 1024  # 768 KiB each: three times a stream's window
    assert count * size > 2 * STREAM_WINDOW
    for index in range(count):
        create(apiserver, f"cm-{index}", size)
    for index in range(count):
        assert (await fast.next())["object"]["metadata"]["name"] == f"cm-{index}"
    await eventually(lambda: front.streams_waiting_for_window == 1)
    assert front.connections_accepted == 1, "the two streams shared one connection"
    for index in range(count):
        assert (await slow.next())["object"]["metadata"]["name"] == f"cm-{index}"
    slow.body.close()
    fast.body.close()


async def test_goaway_sends_new_streams_to_a_new_connection_while_old_ones_finish(
    transport: Http2Transport, apiserver: FakeAPIServer, front: H2Front
) -> None:
    old = await watch(transport, apiserver)
    front.go_away()
    await eventually(lambda: transport.connection_count == 0)  # it no longer takes streams
    new = await watch(transport, apiserver)
    assert front.connections_accepted == 2
    create(apiserver, "a")
    assert (await old.next())["object"]["metadata"]["name"] == "a"
    assert (await new.next())["object"]["metadata"]["name"] == "a"
    old.body.close()
    await eventually(lambda: front.open_connections == 1)  # the old one closes once drained
    create(apiserver, "b")
    assert (await new.next())["object"]["metadata"]["name"] == "b"
    new.body.close()


async def test_refused_stream_is_sent_again(
    transport: Http2Transport, apiserver: FakeAPIServer, front: H2Front
) -> None:
    front.refuse_streams = 1
    response = await transport.send(request(apiserver, LIST), None)
    assert response.head.status == 200
    response.body.close()
    assert front.refuse_streams == 0


async def test_refused_stream_with_a_streamed_body_is_not_sent_again(
    transport: Http2Transport, apiserver: FakeAPIServer, front: H2Front
) -> None:
    async def body() -> AsyncIterator[bytes]:
        yield json.dumps({"metadata": {"name": "a"}}).encode()

    front.refuse_streams = 1
    with pytest.raises(UpstreamError, match="refused the stream"):
        await transport.send(request(apiserver, LIST, "POST"), body())


async def test_close_ends_held_streams_and_later_sends(
    transport: Http2Transport, apiserver: FakeAPIServer, front: H2Front
) -> None:
    events = await watch(transport, apiserver)
    await transport.close()
    with pytest.raises(UpstreamError):
        await events.body.read()
    events.body.close()
    with pytest.raises(UpstreamUnreachableError):
        await transport.send(request(apiserver, LIST), None)
    await eventually(lambda: front.open_connections == 0)


async def test_dead_connection_is_found_by_ping(
    front: H2Front, apiserver: FakeAPIServer
) -> None:
    transport, fallback = await started(front.url, keepalive=0.2)
    try:
        events = await watch(transport, apiserver)
        front.fall_silent()
        with pytest.raises(UpstreamError, match="did not answer a PING"):
            async with asyncio.timeout(3):
                await events.body.read()
        assert transport.connection_count == 0
        events.body.close()
    finally:
        await transport.close()
        await fallback.close()


async def test_unanswered_ping_ends_the_connection_after_the_ping_timeout_and_a_new_one_serves(
    front: H2Front, apiserver: FakeAPIServer
) -> None:
    async with running(front.url, keepalive=0.2, ping_timeout=0.05) as (transport, _):
        events = await watch(transport, apiserver)
        front.fall_silent()
        with pytest.raises(UpstreamError, match=r"did not answer a PING within 0\.05s"):
            async with asyncio.timeout(3):
                await events.body.read()
        events.body.close()
        assert transport.connection_count == 0
        listed = await transport.send(request(apiserver, LIST), None)
        assert listed.head.status == 200
        listed.body.close()
        assert front.connections_accepted == 2 and transport.connection_count == 1


async def test_idle_connection_closes_after_idle_close_and_the_next_request_opens_another(
    front: H2Front, apiserver: FakeAPIServer
) -> None:
    async with running(front.url, idle_close=0.2) as (transport, fallback):  # PINGs 30 s apart
        for expected_connections in (1, 2):
            listed = await transport.send(request(apiserver, LIST), None)
            assert listed.head.status == 200
            while await listed.body.read():
                pass
            listed.body.close()
            assert front.connections_accepted == expected_connections
            assert transport.connection_count == 1
            await eventually(lambda: transport.connection_count == 0, timeout=2)
            await eventually(lambda: front.open_connections == 0, timeout=2)
        assert fallback.sent == 0


async def test_a_connection_in_use_is_not_closed_as_idle(
    front: H2Front, apiserver: FakeAPIServer
) -> None:
    # PINGs 0.1 s apart: the keeper that finds a connection idle wakes that often.
    async with running(front.url, keepalive=0.1, idle_close=0.1) as (transport, _):
        events = await watch(transport, apiserver)
        await asyncio.sleep(0.3)  # past idle_close, with the watch's stream open
        create(apiserver, "a")
        assert (await events.next())["type"] == "ADDED"
        assert transport.connection_count == 1 and front.connections_accepted == 1
        events.body.close()
        await eventually(lambda: transport.connection_count == 0, timeout=2)


async def test_server_without_h2_in_alpn_gets_http1(apiserver: FakeAPIServer) -> None:
    transport, fallback = await started(apiserver.url)  # the fake offers only http/1.1
    try:
        for _ in range(2):
            response = await transport.send(request(apiserver, LIST), None)
            assert response.head.status == 200
            response.body.close()
        assert fallback.sent == 2
        assert transport.connection_count == 0
    finally:
        await transport.close()
        await fallback.close()


def test_request_headers_follow_http2_rules() -> None:
    headers = CIMultiDict([
        ("Host", "api.example:6443"), ("Connection", "close"), ("Keep-Alive", "5"),
        ("Transfer-Encoding", "chunked"), ("Upgrade", "h2c"), ("Proxy-Connection", "x"),
        ("TE", "gzip"), ("X-Trace", "1"), ("x-trace", "2"), ("Authorization", "Bearer t"),
    ])
    head = RequestHead(method="PUT", target="/api?x=1", headers=headers, tls=None)
    assert h2_request_headers(head, "api:443", b"{}") == [
        (b":method", b"PUT"), (b":scheme", b"https"), (b":authority", b"api.example:6443"),
        (b":path", b"/api?x=1"), (b"x-trace", b"1"), (b"x-trace", b"2"),
        (b"authorization", b"Bearer t"), (b"content-length", b"2"),
    ]


def test_te_trailers_is_the_one_te_allowed() -> None:
    head = RequestHead(method="GET", target="/", headers=CIMultiDict(TE="trailers"), tls=None)
    assert (b"te", b"trailers") in h2_request_headers(head, "api:443", None)
    assert (b":authority", b"api:443") in h2_request_headers(head, "api:443", None)


def test_response_head_reads_status_and_keeps_repeated_fields() -> None:
    head = response_head([
        (b":status", b"404"), (b"content-type", b"application/json"),
        (b"warning", b"a"), (b"warning", b"b"),
    ])
    assert (head.status, head.reason) == (404, "Not Found")
    assert head.headers.getall("Warning") == ["a", "b"]
    assert [name for name, _ in head.headers.items()] == ["content-type", "warning", "warning"]


def test_on_uvloop_streams_share_a_connection_and_a_leaver_resets() -> None:
    """The proxy runs on uvloop, whose TLS transports are not asyncio's classes."""

    async def case() -> None:
        async with (
            FakeAPIServer(tokens={ADMIN_TOKEN: "admin"}) as api,
            H2Front(upstream=api.url, ca=api.ca) as front,
        ):
            transport, fallback = await started(front.url)
            try:
                leaving, staying = await watch(transport, api), await watch(transport, api)
                leaving.body.close()
                create(api, "a")
                assert (await staying.next())["object"]["metadata"]["name"] == "a"
                await eventually(lambda: front.resets_received == [h2.errors.ErrorCodes.CANCEL])
                assert front.connections_accepted == 1
                staying.body.close()
            finally:
                await transport.close()
                await fallback.close()

    uvloop.run(case())
