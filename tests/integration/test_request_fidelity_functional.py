"""The upstream request is the client's request, plus the credential.

A recording API server on loopback (TLS) keeps the head of every request exactly
as it arrived; a raw-socket client sends exact bytes to the proxy. What the API
server received must be what the client sent, less hop-by-hop and identity
headers, plus `Host` (the upstream's authority) and the proxy's credential, and
nothing else: no `Content-Type`, `User-Agent`, `Accept` or `Accept-Encoding` of
the proxy's own.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl

import pytest
import trustme

from proxy.config import CredentialConfig, FilterConfig
from proxy.testing import FakeAPIServer
from proxy.testing.pki import build_server_ssl_context
from tests.integration.conftest import RunningProxy, StartProxy, eventually

PROXY_TOKEN = "the-proxys-own-token"
CONFIGMAPS = "/api/v1/namespaces/default/configmaps"
EXEC = "/api/v1/namespaces/default/pods/shell/exec?command=sh&stdin=true&stdout=true"
BEARER_PREFIX = "base64url.bearer.authorization.k8s.io."
BEARER_SUBPROTOCOL = BEARER_PREFIX + "c3RvbGVu"
NO_REJECTS = FilterConfig(
    accept_hosts=(r"^127\.0\.0\.1$",),
    accept_paths=("^.*",),
    reject_paths=(),
    reject_methods=(),
)

# Written out here, not imported from the proxy: a shared mistake must not pass unseen.
HOP_BY_HOP = frozenset(
    {"connection", "proxy-connection", "keep-alive", "proxy-authenticate",
     "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade"}
)
PER_CONNECTION = frozenset({"host", "expect"})  # Expect is answered by the proxy itself
IDENTITY = frozenset({"authorization", "impersonate-user", "impersonate-group", "impersonate-uid"})
IDENTITY_PREFIXES = ("impersonate-extra-", "x-remote-")
WEBSOCKET_HANDSHAKE = frozenset(
    {"sec-websocket-key", "sec-websocket-version", "sec-websocket-protocol",
     "sec-websocket-extensions", "origin"}
)

Headers = tuple[tuple[str, str], ...]


def parse_head(head: bytes) -> tuple[str, list[tuple[str, str]]]:
    """The start line and the header fields, in order, values without surrounding space."""
    start, *lines = head.decode("latin-1").removesuffix("\r\n\r\n").split("\r\n")
    fields = []
    for line in lines:
        name, _, value = line.partition(":")
        fields.append((name, value.strip()))
    return start, fields


def by_name(fields: Headers | list[tuple[str, str]]) -> dict[str, list[str]]:
    """Names compared case-insensitively; the values of each name in the order sent."""
    grouped: dict[str, list[str]] = {}
    for name, value in fields:
        grouped.setdefault(name.lower(), []).append(value)
    return grouped


def is_identity(name: str, value: str) -> bool:
    lowered = name.lower()
    if lowered == "sec-websocket-protocol" and value.startswith(BEARER_PREFIX):
        return True  # a browser's bearer token, carried as a subprotocol
    return lowered in IDENTITY or lowered.startswith(IDENTITY_PREFIXES)


def expected_upstream(
    sent: Headers, *, authority: str, added: Headers, dropped: frozenset[str]
) -> dict[str, list[str]]:
    """Client headers, less hop-by-hop and identity, plus Host and the credential (and `added`)."""
    named_in_connection = {
        token.strip().lower()
        for name, value in sent
        if name.lower() == "connection"
        for token in value.split(",")
    }
    kept = [
        (name, value)
        for name, value in sent
        if name.lower() not in HOP_BY_HOP | PER_CONNECTION | named_in_connection | dropped
        and not is_identity(name, value)
    ]
    return by_name([*kept, ("Host", authority), ("Authorization", f"Bearer {PROXY_TOKEN}"),
                    *added])


@dataclass
class Received:
    start_line: str
    headers: list[tuple[str, str]]
    body: bytes


WATCH_EVENT = b'{"type":"ADDED","object":{"kind":"ConfigMap","apiVersion":"v1",' \
    b'"metadata":{"name":"a","namespace":"default","resourceVersion":"7"}}}\n'


@dataclass
class RecordingUpstream:
    """An API server that keeps each request's head and body, and answers minimally."""

    port: int = 0
    received: list[Received] = field(default_factory=list)
    writers: list[asyncio.StreamWriter] = field(default_factory=list)

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.append(writer)
        try:
            while head := await _read_head(reader):
                start, fields = parse_head(head)
                body = await _read_body(reader, by_name(fields))
                self.received.append(Received(start, fields, body))
                if not await self._answer(start, by_name(fields), writer, reader):
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            writer.close()

    async def _answer(
        self,
        start: str,
        headers: dict[str, list[str]],
        writer: asyncio.StreamWriter,
        reader: asyncio.StreamReader,
    ) -> bool:
        """Answer; False when the connection is done (an upgrade, or an open watch)."""
        if "upgrade" in headers:
            protocol = headers["upgrade"][0].encode()
            writer.write(b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
                         b"Upgrade: " + protocol + b"\r\n\r\n")
            await writer.drain()
            await reader.read()  # until the proxy lets go
            return False
        if "watch=" in start:
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                         b"Transfer-Encoding: chunked\r\n\r\n"
                         + f"{len(WATCH_EVENT):x}\r\n".encode() + WATCH_EVENT + b"\r\n")
            await writer.drain()
            await reader.read()  # an open watch: until the proxy closes it
            return False
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 2\r\n\r\n{}")
        await writer.drain()
        return True


async def _read_head(reader: asyncio.StreamReader) -> bytes:
    try:
        return await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return b""


async def _read_body(reader: asyncio.StreamReader, headers: dict[str, list[str]]) -> bytes:
    if "chunked" in ",".join(headers.get("transfer-encoding", [])).lower():
        body = b""
        while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
            body += await reader.readexactly(size)
            await reader.readexactly(2)
        while await reader.readuntil(b"\r\n") != b"\r\n":
            pass
        return body
    if "content-length" in headers:
        return await reader.readexactly(int(headers["content-length"][0]))
    return b""


StartRecording = Callable[..., Awaitable[tuple[RecordingUpstream, RunningProxy]]]


@pytest.fixture
async def recording(start_proxy: StartProxy, tmp_path: Path) -> AsyncIterator[StartRecording]:
    servers: list[tuple[asyncio.Server, RecordingUpstream]] = []
    ca = trustme.CA()

    async def start(
        credentials: CredentialConfig | None = None, **serve: object
    ) -> tuple[RecordingUpstream, RunningProxy]:
        upstream = RecordingUpstream()
        context = build_server_ssl_context(ca, hostnames=("127.0.0.1",))
        server = await asyncio.start_server(upstream.serve, "127.0.0.1", 0, ssl=context)
        servers.append((server, upstream))
        upstream.port = server.sockets[0].getsockname()[1]
        fake = FakeAPIServer(ca=ca)  # only for its kubeconfig writer; never started
        kubeconfig = fake.kubeconfig(
            tmp_path / f"recording-{upstream.port}",
            server=f"https://127.0.0.1:{upstream.port}",
            token=PROXY_TOKEN,
        )
        proxy = await start_proxy(
            kubeconfig, filter=NO_REJECTS, credentials=credentials, **serve
        )
        return upstream, proxy

    yield start
    for server, upstream in servers:
        server.close()
        for writer in upstream.writers:
            writer.close()
        await server.wait_closed()


@dataclass(frozen=True)
class Case:
    start_line: str
    headers: Headers
    body: bytes = b""  # as sent on the wire, framing included
    payload: bytes = b""  # the body the API server must receive
    added: Headers = ()  # what the proxy adds besides Host and the credential, documented
    dropped: frozenset[str] = frozenset()  # what a documented translation leaves out
    status: int = 200
    watch_resume: bool = False
    resumed: bool = False  # a watch the proxy resumes: the query carries what resuming needs


KUBECTL_LIKE: Headers = (
    ("User-Agent", "kubectl/v1.31.0 (linux/amd64) kubernetes/abcdef"),
    ("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"),
    ("Accept-Encoding", "gzip"),
    ("X-Trace", "first"),
    ("x-trace", "second"),
    ("Audit-ID", "1234"),
)
CLIENT_IDENTITY: Headers = (
    ("Authorization", "Bearer stolen"),
    ("Impersonate-User", "root"),
    ("Impersonate-Group", "system:masters"),
    ("Impersonate-Group", "admins"),
    ("Impersonate-Extra-Scopes", "all"),
    ("X-Remote-User", "root"),
)
HOPS: Headers = (
    ("Connection", "keep-alive, X-Hop-Only"),
    ("X-Hop-Only", "for the proxy"),
    ("Keep-Alive", "timeout=5"),
    ("TE", "trailers"),
    ("Proxy-Authorization", "Basic c2VjcmV0"),
)
CONFIGMAP = b'{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"}}'
CHUNKED_CONFIGMAP = b"".join(
    f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    for piece in (CONFIGMAP[:20], CONFIGMAP[20:])
) + b"0\r\n\r\n"
WEBSOCKET_WATCH: Headers = (
    ("Upgrade", "websocket"),
    ("Connection", "Upgrade"),
    ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ("Sec-WebSocket-Version", "13"),
    ("Sec-WebSocket-Protocol", "binary.k8s.io"),
    ("Origin", "http://127.0.0.1"),
    ("User-Agent", "a-browser"),
    ("Authorization", "Bearer stolen"),
)
EXEC_UPGRADE: Headers = (
    ("Connection", "keep-alive, Upgrade"),
    ("Upgrade", "websocket"),
    ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ("Sec-WebSocket-Version", "13"),
    ("Sec-WebSocket-Protocol", "v5.channel.k8s.io, v4.channel.k8s.io"),
    ("Sec-WebSocket-Protocol", BEARER_SUBPROTOCOL),
    ("Sec-WebSocket-Protocol", "channel.k8s.io"),
    ("User-Agent", "kubectl/v1.31.0"),
    ("Authorization", "Bearer stolen"),
)

CASES = [
    pytest.param(
        Case(f"GET {CONFIGMAPS} HTTP/1.1", ()), id="GET with only Host gets nothing added"
    ),
    pytest.param(
        Case(f"GET {CONFIGMAPS} HTTP/1.1", KUBECTL_LIKE + CLIENT_IDENTITY + HOPS),
        id="GET keeps the client's headers, drops hop-by-hop and identity",
    ),
    pytest.param(
        Case(f"POST {CONFIGMAPS} HTTP/1.1",
             (("Content-Length", str(len(CONFIGMAP))), ("User-Agent", "OpenAPI-Generator/37")),
             body=CONFIGMAP, payload=CONFIGMAP),
        id="POST without Content-Type gets none added",
    ),
    pytest.param(
        Case(f"POST {CONFIGMAPS} HTTP/1.1",
             (("Content-Type", "application/json"), ("Content-Length", str(len(CONFIGMAP))),
              ("Expect", "100-continue")),
             body=CONFIGMAP, payload=CONFIGMAP),
        id="POST keeps the client's Content-Type",
    ),
    pytest.param(
        Case(f"PATCH {CONFIGMAPS}/a HTTP/1.1",
             (("Content-Type", "application/strategic-merge-patch+json"),
              ("Transfer-Encoding", "chunked")),
             body=CHUNKED_CONFIGMAP, payload=CONFIGMAP,
             added=(("Transfer-Encoding", "chunked"),)),
        id="chunked body is forwarded chunked",
    ),
    pytest.param(
        Case(f"DELETE {CONFIGMAPS}/a HTTP/1.1", (("Accept", "application/json"),)),
        id="DELETE without a body gets no Content-Length",
    ),
    pytest.param(
        Case(f"GET {CONFIGMAPS}?watch=true HTTP/1.1", KUBECTL_LIKE + CLIENT_IDENTITY),
        id="chunked watch",
    ),
    pytest.param(
        Case(f"GET {CONFIGMAPS}?watch=1 HTTP/1.1", KUBECTL_LIKE + CLIENT_IDENTITY,
             watch_resume=True, resumed=True),
        id="chunked watch resumed by the proxy",
    ),
    pytest.param(
        Case(f"GET {CONFIGMAPS}?watch=true HTTP/1.1", WEBSOCKET_WATCH,
             dropped=WEBSOCKET_HANDSHAKE, status=101, resumed=True),
        id="WebSocket watch opens a plain watch upstream, handshake left out",
    ),
    pytest.param(
        Case(f"GET {EXEC} HTTP/1.1", EXEC_UPGRADE, status=101,
             added=(("Connection", "Upgrade"), ("Upgrade", "websocket"))),
        id="exec upgrade keeps the client's subprotocols, drops only the bearer",
    ),
    pytest.param(
        Case(f"POST {EXEC} HTTP/1.1",
             (("Connection", "Upgrade"), ("Upgrade", "SPDY/3.1"),
              ("X-Stream-Protocol-Version", "v4.channel.k8s.io"),
              ("Transfer-Encoding", "chunked")),
             body=CHUNKED_CONFIGMAP, payload=CONFIGMAP, status=101,
             added=(("Connection", "Upgrade"), ("Upgrade", "SPDY/3.1"),
                    ("Transfer-Encoding", "chunked"))),
        id="SPDY upgrade with a chunked body is forwarded chunked",
    ),
]


async def send_raw(port: int, case: Case) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    lines = [case.start_line, f"Host: 127.0.0.1:{port}"]
    lines += [f"{name}: {value}" for name, value in case.headers]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + case.body)
    await writer.drain()
    return reader, writer


async def final_status(reader: asyncio.StreamReader) -> int:
    """The status of the answer, past any `100 Continue`."""
    while True:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        status = int(head.split(b" ", 2)[1])
        if status != 100:
            return status


@pytest.mark.parametrize("case", CASES)
async def test_upstream_request_is_the_client_request_plus_the_credential(
    recording: StartRecording, case: Case
) -> None:
    upstream, proxy = await recording(watch_resume=case.watch_resume)
    reader, writer = await send_raw(proxy.port, case)
    try:
        await eventually(lambda: bool(upstream.received))
        assert await final_status(reader) == case.status
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    got = upstream.received[0]
    expected = expected_upstream(
        case.headers,
        authority=f"127.0.0.1:{upstream.port}",
        added=case.added,
        dropped=case.dropped,
    )
    assert by_name(got.headers) == expected
    assert got.body == case.payload
    method, target, _ = case.start_line.split(" ")
    if case.resumed:
        got_method, got_target, _ = got.start_line.split(" ")
        path, _, query = target.partition("?")
        got_path, _, got_query = got_target.partition("?")
        assert (got_method, got_path) == (method, path)
        assert set(parse_qsl(got_query)) == {*parse_qsl(query), ("allowWatchBookmarks", "true")}
    else:
        assert got.start_line == case.start_line, "method and target pass unchanged"


async def test_impersonation_flags_are_the_only_identity_upstream(
    recording: StartRecording,
) -> None:
    credentials = CredentialConfig(impersonate_user="jane", impersonate_groups=("dev", "ops"))
    upstream, proxy = await recording(credentials=credentials)
    case = Case(f"GET {CONFIGMAPS} HTTP/1.1", (("Accept", "application/json"), *CLIENT_IDENTITY))
    reader, writer = await send_raw(proxy.port, case)
    try:
        assert await final_status(reader) == 200
    finally:
        writer.close()
        await writer.wait_closed()
    added = (("Impersonate-User", "jane"), ("Impersonate-Group", "dev"),
             ("Impersonate-Group", "ops"))
    expected = expected_upstream(
        case.headers, authority=f"127.0.0.1:{upstream.port}", added=added, dropped=frozenset()
    )
    assert by_name(upstream.received[0].headers) == expected
