"""An HTTP/2 front for the fake API server, as a kube-apiserver speaks to its clients.

The fake speaks HTTP/1.1 only; this TLS server on loopback offers `h2` (then
`http/1.1`) in ALPN, as a kube-apiserver does. Over h2 it relays each stream to
the fake over HTTP/1.1 and streams the answer back under the client's flow
control; an HTTP/1.1 connection is passed through to the fake byte for byte.
It allows `max_streams` streams per connection (the kube-apiserver: 100) and
counts what tests look at: connections accepted and open, streams the client
reset, streams waiting for the client's window. It can also send GOAWAY and fall
silent, to test how a client copes. Framing is the `h2` library's server side.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Sequence
from typing import cast

import aiohttp
import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.exceptions
import h2.settings
import trustme
from yarl import URL

from proxy.testing.pki import (
    DEFAULT_SERVER_HOSTNAMES,
    build_server_ssl_context,
    identity_from_peercert,
)

# Not relayed either way: HTTP/1.1's connection fields, and what HTTP/2 forbids.
_HOP_BY_HOP = frozenset(
    {"connection", "transfer-encoding", "keep-alive", "upgrade", "proxy-connection", "te"}
)
_PIECE = 16 * 1024


class H2Front:
    """`async with H2Front(upstream=api.url, ca=api.ca) as front:` then point a client at
    `front.url`; requests reach the fake as HTTP/1.1 with their headers as they came."""

    def __init__(
        self,
        *,
        upstream: str,
        ca: trustme.CA,
        max_streams: int = 100,
        server_hostnames: Sequence[str] = DEFAULT_SERVER_HOSTNAMES,
    ) -> None:
        self._upstream = upstream.rstrip("/")
        self._ca = ca
        self._hostnames = tuple(server_hostnames)
        self.max_streams = max_streams
        self.port = 0
        self.connections_accepted = 0
        self.http1_connections_accepted = 0  # of those, the ones that chose HTTP/1.1
        self.trust: ssl.SSLContext | None = None  # how the front reaches the fake
        self.resets_received: list[int] = []  # error codes of streams the client reset
        # The user (CN) of each connection that presented a verified client certificate. The
        # front does not relay it: the fake sees the front's connection, not the client's.
        self.client_users: list[str] = []
        self.refuse_streams = 0  # refuse this many new streams (REFUSED_STREAM) before serving
        self._connections: set[_FrontConnection] = set()
        self._server: asyncio.Server | None = None
        self._session: aiohttp.ClientSession | None = None

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def open_connections(self) -> int:
        return len(self._connections)

    @property
    def streams_waiting_for_window(self) -> int:
        """Streams with an answer to send and no room in the client's flow-control window."""
        return sum(c.waiting_for_window for c in self._connections)

    def go_away(self) -> None:
        """GOAWAY on every open connection: streams open now finish, new ones go elsewhere."""
        for connection in self._connections:
            connection.go_away()

    def fall_silent(self) -> None:
        """Stop reading and answering on every open connection, as a dead peer would."""
        for connection in self._connections:
            connection.fall_silent()

    async def start(self) -> None:
        trust = ssl.create_default_context()
        self._ca.configure_trust(trust)
        self.trust = trust
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0, ssl=trust),
            auto_decompress=False,
            # No deadline of the front's own (aiohttp's default ends any exchange after five
            # minutes): a watch ends when the fake ends it, as a kube-apiserver's does.
            timeout=aiohttp.ClientTimeout(),
            skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
        )
        context = build_server_ssl_context(self._ca, hostnames=self._hostnames)
        context.set_alpn_protocols(["h2", "http/1.1"])
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            self._accept, "127.0.0.1", self.port, ssl=context
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for connection in list(self._connections):
            connection.abort()
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> H2Front:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    def _accept(self) -> _FrontConnection:
        self.connections_accepted += 1
        return _FrontConnection(self)

    @property
    def upstream(self) -> str:
        return self._upstream

    async def relay(
        self, headers: list[tuple[str, str]], body: bytes
    ) -> aiohttp.ClientResponse:
        """The request to the fake over HTTP/1.1: pseudo-headers become its request line, the
        other fields go as they came, and the body as the client framed it: with the
        Content-Length it announced, else chunked (an h2 body of unannounced length)."""
        assert self._session is not None
        fields = dict(headers)
        outbound = [(name, value) for name, value in headers if not name.startswith(":")]
        if "host" not in fields:  # h2 allows `Host` in place of `:authority`
            outbound.insert(0, ("Host", fields[":authority"]))
        announced = "content-length" in fields
        return await self._session.request(
            fields[":method"],
            URL(self._upstream + fields[":path"], encoded=True),
            headers=outbound,
            data=body if body or announced else None,
            chunked=True if body and not announced else None,
            allow_redirects=False,
        )


class _FrontConnection(asyncio.Protocol):
    """The server side of one HTTP/2 connection; each stream relayed by a task of its own."""

    def __init__(self, front: H2Front) -> None:
        self._front = front
        config = h2.config.H2Configuration(client_side=False, header_encoding="utf-8")
        self._h2 = h2.connection.H2Connection(config=config)
        _finish_streams_after_goaway(self._h2)
        self._h2.local_settings = h2.settings.Settings(
            client=False,
            initial_values={
                h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: front.max_streams,
                h2.settings.SettingCodes.MAX_HEADER_LIST_SIZE: 2**20,
            },
        )
        self._transport: asyncio.Transport | None = None
        self._requests: dict[int, tuple[list[tuple[str, str]], bytearray]] = {}
        self._relays: dict[int, asyncio.Task[None]] = {}
        self._window_opened = asyncio.Event()
        self._silent = False
        self._last_stream: int | None = None  # set by GOAWAY: later streams are refused
        self._passthrough: _Passthrough | None = None  # an HTTP/1.1 connection's
        self.waiting_for_window = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but behave as one.
        self._transport = cast(asyncio.Transport, transport)
        self._front._connections.add(self)
        identity = identity_from_peercert(transport.get_extra_info("peercert"))
        if identity is not None:
            self._front.client_users.append(identity.user)
        tls = transport.get_extra_info("ssl_object")
        if tls is None or tls.selected_alpn_protocol() != "h2":
            self._front.http1_connections_accepted += 1
            self._passthrough = _Passthrough(self._front, self._transport)
            return
        self._h2.initiate_connection()
        self._flush()

    def connection_lost(self, exc: Exception | None) -> None:
        self._front._connections.discard(self)
        for task in self._relays.values():
            task.cancel()
        if self._passthrough is not None:
            self._passthrough.close()

    def data_received(self, data: bytes) -> None:
        if self._silent:
            return
        if self._passthrough is not None:
            self._passthrough.write(data)
            return
        try:
            events = self._h2.receive_data(data)
        except h2.exceptions.ProtocolError:
            self._flush()
            self.abort()
            return
        for event in events:
            self._handle(event)
        self._flush()

    def _handle(self, event: h2.events.Event) -> None:
        if isinstance(event, h2.events.RequestReceived) and event.stream_id:
            after_goaway = self._last_stream is not None and event.stream_id > self._last_stream
            if after_goaway or self._front.refuse_streams > 0:
                # Never processed, so the client may send it again (elsewhere, after GOAWAY).
                self._front.refuse_streams -= 0 if after_goaway else 1
                self._h2.reset_stream(event.stream_id, h2.errors.ErrorCodes.REFUSED_STREAM)
                return
            headers = [(str(n), str(v)) for n, v in event.headers or []]
            self._requests[event.stream_id] = (headers, bytearray())
        elif isinstance(event, h2.events.DataReceived) and event.stream_id:
            if event.stream_id in self._requests:
                self._requests[event.stream_id][1].extend(event.data or b"")
            self._h2.acknowledge_received_data(event.flow_controlled_length or 0, event.stream_id)
        elif isinstance(event, h2.events.StreamEnded) and event.stream_id:
            request = self._requests.pop(event.stream_id, None)
            if request is not None:
                task = asyncio.ensure_future(self._relay(event.stream_id, *request))
                self._relays[event.stream_id] = task
        elif isinstance(event, h2.events.StreamReset) and event.stream_id:
            self._front.resets_received.append(int(event.error_code or 0))
            self._requests.pop(event.stream_id, None)
            if event.stream_id in self._relays:
                self._relays.pop(event.stream_id).cancel()
        elif isinstance(event, h2.events.WindowUpdated | h2.events.RemoteSettingsChanged):
            self._window_opened.set()

    async def _relay(
        self, stream_id: int, headers: list[tuple[str, str]], body: bytearray
    ) -> None:
        try:
            async with await self._front.relay(headers, bytes(body)) as response:
                head = [(":status", str(response.status))] + [
                    (name.lower(), value)
                    for name, value in response.headers.items()
                    if name.lower() not in _HOP_BY_HOP
                ]
                self._h2.send_headers(stream_id, head)
                self._flush()
                while piece := await response.content.readany():
                    await self._send(stream_id, piece)
                self._h2.end_stream(stream_id)
                self._flush()
        except Exception:  # whatever broke (the fake's answer, the stream): reset, never left open
            with contextlib.suppress(h2.exceptions.ProtocolError):
                self._h2.reset_stream(stream_id, h2.errors.ErrorCodes.INTERNAL_ERROR)
                self._flush()
        finally:
            self._relays.pop(stream_id, None)

    async def _send(self, stream_id: int, data: bytes) -> None:
        """As the client's windows allow: a client that reads slowly holds up only its stream."""
        view = memoryview(data)
        while view:
            room = min(self._h2.local_flow_control_window(stream_id), _PIECE, len(view))
            if room <= 0:
                self.waiting_for_window += 1
                try:
                    self._window_opened.clear()
                    await self._window_opened.wait()
                finally:
                    self.waiting_for_window -= 1
                continue
            self._h2.send_data(stream_id, view[:room].tobytes())
            view = view[room:]
            self._flush()

    def go_away(self) -> None:
        self._last_stream = self._h2.highest_inbound_stream_id
        self._h2.close_connection(last_stream_id=self._last_stream)
        self._flush()

    def fall_silent(self) -> None:
        self._silent = True
        for task in self._relays.values():
            task.cancel()

    def abort(self) -> None:
        if self._transport is not None:
            self._transport.abort()

    def _flush(self) -> None:
        data = self._h2.data_to_send()
        transport = self._transport
        if data and transport is not None and not transport.is_closing() and not self._silent:
            transport.write(data)


class _Passthrough:
    """An HTTP/1.1 connection's bytes to the fake and back, unchanged."""

    def __init__(self, front: H2Front, client: asyncio.Transport) -> None:
        self._front = front
        self._client = client
        self._pending = bytearray()
        self._writer: asyncio.StreamWriter | None = None
        self._task = asyncio.ensure_future(self._pipe())

    def write(self, data: bytes) -> None:
        if self._writer is None:
            self._pending.extend(data)
        else:
            self._writer.write(data)

    def close(self) -> None:
        self._task.cancel()
        if self._writer is not None:
            self._writer.close()

    async def _pipe(self) -> None:
        upstream = URL(self._front.upstream)
        try:
            reader, self._writer = await asyncio.open_connection(
                upstream.host, upstream.port, ssl=self._front.trust
            )
            self._writer.write(bytes(self._pending))
            while data := await reader.read(64 * 1024):
                self._client.write(data)
        except OSError:
            pass
        finally:
            self._client.close()


def _finish_streams_after_goaway(connection: h2.connection.H2Connection) -> None:
    """h2 goes CLOSED on sending GOAWAY and then refuses every frame (python-hyper/h2#1181):
    let the streams already open finish, as a kube-apiserver's do."""
    machine = connection.state_machine
    table = dict(type(machine)._transitions)
    for event in h2.connection.ConnectionInputs:
        closed = h2.connection.ConnectionState.CLOSED
        table.setdefault((closed, event), (None, closed))
    machine._transitions = table
