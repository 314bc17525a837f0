"""The upgrade's outbound headers, and reading an upstream answer."""

from __future__ import annotations

import asyncio

import pytest

from proxy.config import FilterConfig
from proxy.errors import UpstreamError
from proxy.routing.filters import RequestFilter
from proxy.streams.upgrade import upgrade_request_headers
from proxy.upstream.dialer import read_body, read_response_head


def test_upgrade_headers_sanitised_then_upgrade_re_added() -> None:
    inbound = [
        ("Host", "127.0.0.1:8001"),
        ("Connection", "Upgrade, X-Secret"),
        ("Upgrade", "websocket"),
        ("X-Secret", "hop"),
        ("Authorization", "Bearer stolen"),
        ("Impersonate-User", "root"),
        ("Origin", "http://localhost:3000"),
        ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ("Sec-WebSocket-Version", "13"),
        ("Sec-WebSocket-Protocol", "v5.channel.k8s.io, base64url.bearer.authorization.k8s.io.eA"),
        ("X-Stream-Protocol-Version", "v4.channel.k8s.io"),
    ]
    headers = upgrade_request_headers(inbound, "websocket")
    assert dict(headers) == {
        "Origin": "http://localhost:3000",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version": "13",
        "X-Stream-Protocol-Version": "v4.channel.k8s.io",
        "Sec-WebSocket-Protocol": "v5.channel.k8s.io",
        "Connection": "Upgrade",
        "Upgrade": "websocket",
    }


def reader_of(data: bytes) -> asyncio.StreamReader:
    reader = asyncio.StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    return reader


async def body_of(data: bytes, *, method: str = "GET") -> bytes:
    reader = reader_of(data)
    head = await read_response_head(reader)
    return b"".join([piece async for piece in read_body(head, reader, method=method)])


async def test_response_head_is_parsed() -> None:
    head = await read_response_head(
        reader_of(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: SPDY/3.1\r\nX-A: 1\r\n\r\nrest")
    )
    assert (head.status, head.reason, head.headers["upgrade"]) == (
        101,
        "Switching Protocols",
        "SPDY/3.1",
    )


@pytest.mark.parametrize(
    ("answer", "method", "body"),
    [
        pytest.param(b"Content-Length: 5\r\n\r\nhello+more", "GET", b"hello", id="content-length"),
        pytest.param(
            b"Transfer-Encoding: chunked\r\n\r\n3;x=1\r\nhel\r\n2\r\nlo\r\n0\r\nT: 1\r\n\r\n",
            "GET",
            b"hello",
            id="chunked with extension and trailer",
        ),
        pytest.param(b"\r\nhello", "GET", b"hello", id="until the upstream closes"),
        pytest.param(b"Content-Length: 5\r\n\r\nhello", "HEAD", b"", id="no body for HEAD"),
    ],
)
async def test_declined_upgrade_body_is_read_by_its_framing(
    answer: bytes, method: str, body: bytes
) -> None:
    assert await body_of(b"HTTP/1.1 403 Forbidden\r\n" + answer, method=method) == body


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(b"SSH-2.0-OpenSSH\r\n\r\n", id="not HTTP"),
        pytest.param(b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n", id="malformed header"),
        pytest.param(b"HTTP/1.1 200 OK\r\n", id="closed mid-head"),
    ],
)
async def test_malformed_answer_is_an_upstream_error(answer: bytes) -> None:
    with pytest.raises(UpstreamError):
        await read_response_head(reader_of(answer))


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(b"Content-Length: 9\r\n\r\nhello", id="shorter than its length"),
        pytest.param(b"Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n", id="bad chunk"),
        pytest.param(b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n", id="no last chunk"),
    ],
)
async def test_declined_upgrade_body_framed_wrong_is_an_upstream_error(answer: bytes) -> None:
    with pytest.raises(UpstreamError):
        await body_of(b"HTTP/1.1 403 Forbidden\r\n" + answer)


DEFAULT_HOSTS = RequestFilter.from_config(
    FilterConfig(
        accept_hosts=(r"^localhost$", r"^127\.0\.0\.1$", r"^\[::1\]$"),
        accept_paths=(),
        reject_paths=(),
        reject_methods=(),
    )
)


@pytest.mark.parametrize(
    ("origin", "accepted"),
    [
        pytest.param("http://localhost:3000", True, id="local page with a port"),
        pytest.param("https://127.0.0.1", True, id="loopback address"),
        pytest.param("http://[::1]:8080", True, id="IPv6 loopback keeps its brackets"),
        pytest.param("https://evil.example", False, id="foreign page"),
        pytest.param("http://localhost.evil.example", False, id="lookalike host"),
        pytest.param("http://user@evil.example", False, id="userinfo does not fool it"),
        pytest.param("null", False, id="opaque origin"),
        pytest.param("", False, id="empty"),
    ],
)
def test_origin_must_name_an_accepted_host(origin: str, accepted: bool) -> None:
    assert DEFAULT_HOSTS.accepts_origin(origin) is accepted


def test_upgrade_headers_keep_each_subprotocol_line_and_drop_only_the_bearer() -> None:
    inbound = [
        ("Connection", "Upgrade"),
        ("Upgrade", "websocket"),
        ("Sec-WebSocket-Protocol", "v5.channel.k8s.io,v4.channel.k8s.io"),
        ("Sec-WebSocket-Protocol", "base64url.bearer.authorization.k8s.io.eA"),
        ("Sec-WebSocket-Protocol", "channel.k8s.io, base64url.bearer.authorization.k8s.io.eA"),
    ]
    headers = upgrade_request_headers(inbound, "websocket")
    assert headers.getall("Sec-WebSocket-Protocol") == [
        "v5.channel.k8s.io,v4.channel.k8s.io",
        "channel.k8s.io",
    ]
