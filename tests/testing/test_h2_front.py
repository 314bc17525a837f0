"""The h2 front relays a stream to the fake as the client sent it (fields as they came, the
body framed as the client framed it) and sets no deadline of its own, as a kube-apiserver
speaking h2 has none beyond what its handlers choose."""

from __future__ import annotations

import asyncio
import re
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import aiohttp
import aiohttp.client
import h2.config
import h2.connection
import h2.events
import pytest
import trustme

from proxy.testing.h2_front import H2Front
from proxy.testing.pki import build_server_ssl_context

ANSWER = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"


@dataclass
class Recorder:
    """An HTTP/1.1 server that records each request's head and raw body bytes, then answers
    after `delay` seconds."""

    delay: float = 0.0
    requests: list[tuple[str, bytes]] = field(default_factory=list)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode()
        length = re.search(r"(?im)^content-length: *(\d+)", head)
        if length is not None:
            body = await reader.readexactly(int(length.group(1)))
        elif re.search(r"(?im)^transfer-encoding: *chunked", head):
            body = await reader.readuntil(b"0\r\n\r\n")
        else:
            body = b""
        self.requests.append((head, body))
        await asyncio.sleep(self.delay)
        writer.write(ANSWER)
        await writer.drain()
        writer.close()


@dataclass
class Setup:
    ca: trustme.CA
    front: H2Front
    recorder: Recorder


@pytest.fixture
async def setup() -> AsyncIterator[Setup]:
    ca = trustme.CA()
    recorder = Recorder()
    context = build_server_ssl_context(ca, hostnames=("127.0.0.1",))
    server = await asyncio.start_server(recorder.handle, "127.0.0.1", 0, ssl=context)
    port = server.sockets[0].getsockname()[1]
    async with H2Front(upstream=f"https://127.0.0.1:{port}", ca=ca) as front:
        yield Setup(ca, front, recorder)
    server.close()
    await server.wait_closed()


async def h2_exchange(
    setup: Setup, fields: list[tuple[str, str]], body: bytes | None = None
) -> tuple[list[tuple[str, str]], bytes]:
    """One stream over a fresh h2 connection to the front: the answer's fields and body."""
    context = ssl.create_default_context()
    setup.ca.configure_trust(context)
    context.set_alpn_protocols(["h2"])
    reader, writer = await asyncio.open_connection(
        "127.0.0.1", setup.front.port, ssl=context, server_hostname="127.0.0.1"
    )
    client = h2.connection.H2Connection(
        h2.config.H2Configuration(client_side=True, header_encoding="utf-8")
    )
    client.initiate_connection()
    client.send_headers(1, fields, end_stream=body is None)
    if body is not None:
        client.send_data(1, body, end_stream=True)
    writer.write(client.data_to_send())
    head: list[tuple[str, str]] = []
    received = bytearray()
    try:
        while data := await asyncio.wait_for(reader.read(65536), 5):
            for event in client.receive_data(data):
                if isinstance(event, h2.events.ResponseReceived):
                    head = [(str(n), str(v)) for n, v in event.headers or []]
                elif isinstance(event, h2.events.DataReceived):
                    received += event.data or b""
                elif isinstance(event, h2.events.StreamEnded):
                    return head, bytes(received)
                elif isinstance(event, h2.events.StreamReset):
                    raise AssertionError(f"stream reset: {event.error_code!r}")
            writer.write(client.data_to_send())
        raise AssertionError("connection closed before the stream ended")
    finally:
        writer.close()


def request(method: str, path: str, *extra: tuple[str, str]) -> list[tuple[str, str]]:
    return [(":method", method), (":path", path), (":scheme", "https"),
            (":authority", "127.0.0.1:6443"), *extra]


async def test_fields_reach_the_fake_as_sent_and_nothing_more(setup: Setup) -> None:
    await h2_exchange(setup, request("GET", "/api/v1/pods?x=%2F", ("accept", "application/json")))
    head, body = setup.recorder.requests[-1]
    assert head.split("\r\n")[:3] == [
        "GET /api/v1/pods?x=%2F HTTP/1.1", "Host: 127.0.0.1:6443", "accept: application/json"
    ]
    assert head.endswith("accept: application/json\r\n\r\n")  # no User-Agent, Accept-Encoding...
    assert body == b""


async def test_an_announced_body_keeps_its_length(setup: Setup) -> None:
    await h2_exchange(
        setup,
        request("POST", "/api", ("content-type", "application/json"), ("content-length", "7")),
        b'{"a":1}',
    )
    head, body = setup.recorder.requests[-1]
    assert "content-length: 7" in head and "Transfer-Encoding" not in head
    assert body == b'{"a":1}'


async def test_a_body_of_unannounced_length_goes_chunked(setup: Setup) -> None:
    """As an HTTP/1.1 client sends a body it cannot size, not with a length the client never
    gave (which the fake would judge, e.g. against its body limit, before reading)."""
    await h2_exchange(setup, request("PATCH", "/api", ("content-type", "application/json")), b"{}")
    head, body = setup.recorder.requests[-1]
    assert "Transfer-Encoding: chunked" in head and "ontent-Length" not in head
    assert body == b"2\r\n{}\r\n0\r\n\r\n"


async def test_a_host_field_stands_for_the_authority(setup: Setup) -> None:
    fields = [(":method", "GET"), (":path", "/version"), (":scheme", "https"),
              ("host", "fake-apiserver.test")]
    head, body = await h2_exchange(setup, fields)
    assert ("", "") not in head and body == b"ok"
    assert "host: fake-apiserver.test" in setup.recorder.requests[-1][0].lower()


async def test_the_front_sets_no_deadline_of_its_own(
    setup: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    """aiohttp's default deadline (five minutes) would cut a long watch; a short stand-in for
    it must not reach the front's exchanges."""
    monkeypatch.setattr(aiohttp.client, "DEFAULT_TIMEOUT", aiohttp.ClientTimeout(total=0.2))
    await setup.front.stop()
    await setup.front.start()
    setup.recorder.delay = 0.5
    head, body = await h2_exchange(setup, request("GET", "/api/v1/pods?watch=1"))
    assert (":status", "200") in head and body == b"ok"
