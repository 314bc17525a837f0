"""One HTTP/2 connection to the API server: its streams, flow control, GOAWAY and PINGs.

Framing and HPACK are the `h2` library's; this owns the socket and hands h2's
events to the stream they are for.

Flow control: each stream may have `STREAM_WINDOW` bytes in flight and unread;
DATA is acknowledged (WINDOW_UPDATE) only as the consumer reads it, so a slow
client stops its own stream. The connection's window is opened to the maximum at
once: what is buffered is already bounded by the streams' windows, and a window
shared by all would let one stalled stream stop the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable
from typing import cast

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.exceptions
import h2.settings

from proxy.errors import UpstreamError
from proxy.upstream.h2_graceful import finish_streams_after_goaway
from proxy.upstream.http2_stream import H2Stream, RefusedStreamError

STREAM_WINDOW = 256 * 1024  # as much as the HTTP/1.1 transport buffers for one answer
_MAX_WINDOW = 2**31 - 1


class H2Connection(asyncio.Protocol):
    """The client side of one connection, after TLS chose `h2`.

    `on_change` is called when a stream slot frees up or the connection stops
    taking streams (GOAWAY, lost), so the pool can act on it. After `ping_period`
    without a frame a PING goes out, unanswered for `ping_timeout` (at most the
    period) it ends the connection; one without streams for `idle_close` closes.
    """

    def __init__(
        self,
        *,
        where: str,
        ping_period: float,
        ping_timeout: float,
        idle_close: float,
        on_change: Callable[[H2Connection], None],
    ) -> None:
        config = h2.config.H2Configuration(client_side=True, header_encoding=None)
        self._h2 = h2.connection.H2Connection(config=config)
        finish_streams_after_goaway(self._h2)
        codes = h2.settings.SettingCodes
        self._h2.local_settings = h2.settings.Settings(
            client=True,
            initial_values={  # h2's own, plus our stream window and no server push
                codes.MAX_CONCURRENT_STREAMS: 100,
                codes.MAX_HEADER_LIST_SIZE: self._h2.DEFAULT_MAX_HEADER_LIST_SIZE,
                codes.INITIAL_WINDOW_SIZE: STREAM_WINDOW,
                codes.ENABLE_PUSH: 0,
            },
        )
        self.where = where
        self._ping_period = ping_period
        self._ping_timeout = ping_timeout
        self._idle_close = idle_close
        self._on_change = on_change
        self._loop = asyncio.get_running_loop()
        self._transport: asyncio.Transport | None = None
        self._streams: dict[int, H2Stream] = {}
        self.ready: asyncio.Future[None] = self._loop.create_future()
        # Lost before anyone waited for it: not worth a "never retrieved" warning.
        self.ready.add_done_callback(lambda done: done.cancelled() or done.exception())
        self.going_away = False  # GOAWAY received or sent: no new streams
        self.lost = False
        self._last_heard = self._loop.time()
        self._idle_since = self._last_heard
        self._pong: asyncio.Future[None] | None = None
        self._writable = asyncio.Event()
        self._writable.set()
        self._window_opened = asyncio.Event()
        self._keeper: asyncio.Task[None] | None = None

    # -- asyncio.Protocol -------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but behave as one.
        self._transport = cast(asyncio.Transport, transport)

    def start(self) -> None:
        """Send the preface and our settings; `ready` resolves on the server's SETTINGS."""
        self._h2.initiate_connection()
        self._h2.increment_flow_control_window(_MAX_WINDOW - self._h2.inbound_flow_control_window)
        self._flush()
        self._keeper = self._loop.create_task(self._keep_alive())

    def data_received(self, data: bytes) -> None:
        self._last_heard = self._loop.time()
        try:
            events = self._h2.receive_data(data)
        except h2.exceptions.ProtocolError as exc:
            self._flush()
            self._abort(f"broke the HTTP/2 protocol: {type(exc).__name__}")
            return
        for event in events:
            self._dispatch(event)
        self._flush()

    def connection_lost(self, exc: Exception | None) -> None:
        self._mark_lost(UpstreamError(f"the API server {self.where} closed the connection"))

    def pause_writing(self) -> None:
        self._writable.clear()

    def resume_writing(self) -> None:
        self._writable.set()

    # -- what the pool asks -----------------------------------------------------------

    @property
    def stream_count(self) -> int:
        return len(self._streams)

    def has_room(self) -> bool:
        """Takes a new stream now: up, not going away, under the server's stream limit."""
        if self.lost or self.going_away or not self.ready.done():
            return False
        limit = self._h2.remote_settings.max_concurrent_streams
        return len(self._streams) < limit and self._h2.open_outbound_streams < limit

    def open_stream(self, headers: list[tuple[bytes, bytes]], *, end_stream: bool) -> H2Stream:
        """A new stream with the request's head sent; check `has_room` first (no await between)."""
        stream_id = self._h2.get_next_available_stream_id()
        self._h2.send_headers(stream_id, headers, end_stream=end_stream)
        stream = H2Stream(self, stream_id)
        self._streams[stream_id] = stream
        self._flush()
        return stream

    async def send_data(self, stream: H2Stream, data: bytes, *, end_stream: bool) -> None:
        """A piece of a request body, as fast as the peer's windows and the socket allow.

        Returns early, sending nothing more, once the stream no longer wants it.
        """
        view = memoryview(data)
        while view:
            await self._writable.wait()
            if not stream.sendable():
                return
            room = min(
                self._h2.local_flow_control_window(stream.stream_id),
                self._h2.max_outbound_frame_size,
                len(view),
            )
            if room <= 0:
                self._window_opened.clear()
                await self._window_opened.wait()
                continue
            self._h2.send_data(stream.stream_id, view[:room].tobytes())
            view = view[room:]
            self._flush()
        if end_stream and stream.sendable():
            self._h2.end_stream(stream.stream_id)
            self._flush()

    async def wait_closed(self) -> None:
        """After `close`: the PING keeper has stopped."""
        if self._keeper is not None:
            await asyncio.wait([self._keeper])

    def close(self) -> None:
        """Ends the connection now (GOAWAY, then the socket); its streams break off."""
        if not self.lost:
            with contextlib.suppress(h2.exceptions.ProtocolError):
                self._h2.close_connection()
                self._flush()
        self._mark_lost(UpstreamError(f"the connection to the API server {self.where} closed"))
        if self._transport is not None:
            self._transport.close()

    # -- what a stream asks -----------------------------------------------------------

    def acknowledge(self, stream_id: int, size: int) -> None:
        """The consumer has read `size` bytes of the stream: the server may send more."""
        if size and not self.lost:
            self._h2.acknowledge_received_data(size, stream_id)
            self._flush()

    def cancel(self, stream_id: int) -> None:
        """The consumer left before the end: RST_STREAM CANCEL, the connection stays."""
        if not self.lost:
            with contextlib.suppress(h2.exceptions.StreamClosedError, KeyError):
                self._h2.reset_stream(stream_id, h2.errors.ErrorCodes.CANCEL)
                self._flush()

    def release(self, stream_id: int) -> None:
        if self._streams.pop(stream_id, None) is None:
            return
        if not self._streams:
            self._idle_since = self._loop.time()
            if self.going_away:
                self.close()
        self._on_change(self)

    # -- inside -----------------------------------------------------------------------

    def _dispatch(self, event: h2.events.Event) -> None:
        stream_id = getattr(event, "stream_id", None)
        stream = self._streams.get(stream_id) if stream_id else None
        if isinstance(event, h2.events.ResponseReceived) and stream is not None:
            stream.on_head(event.headers or [])
        elif isinstance(event, h2.events.DataReceived):
            if stream is not None:
                stream.on_data(event.data or b"", event.flow_controlled_length or 0)
            elif event.stream_id is not None:
                # A stream already given up: its bytes still count against the connection.
                self._h2.acknowledge_received_data(event.flow_controlled_length or 0,
                                                   event.stream_id)
        elif isinstance(event, h2.events.StreamEnded) and stream is not None:
            stream.on_end()
        elif isinstance(event, h2.events.StreamReset) and stream is not None:
            stream.on_reset(event.error_code)
        elif isinstance(event, h2.events.WindowUpdated):
            self._window_opened.set()
        elif isinstance(event, h2.events.RemoteSettingsChanged):
            if not self.ready.done():
                self.ready.set_result(None)
            self._window_opened.set()
            self._on_change(self)
        elif isinstance(event, h2.events.ConnectionTerminated):
            self._go_away(event.last_stream_id or 0)
        elif (isinstance(event, h2.events.PingAckReceived)
              and self._pong is not None and not self._pong.done()):
            self._pong.set_result(None)

    def _go_away(self, last_stream_id: int) -> None:
        """Streams up to `last_stream_id` finish here; later ones were never processed."""
        self.going_away = True
        for stream_id, stream in list(self._streams.items()):
            if stream_id > last_stream_id:
                stream.on_error(RefusedStreamError(
                    f"the API server {self.where} went away before this request"
                ))
        self._on_change(self)
        if not self._streams:
            self.close()

    async def _keep_alive(self) -> None:
        """PING when nothing was heard for a period: no answer means the connection is dead.
        Without streams for `idle_close` it closes: on time if it was idle when this last
        went to sleep, else at most one PING period late (no timer per request)."""
        patience = min(self._ping_timeout, self._ping_period)
        while not self.lost:
            now = self._loop.time()
            heard = now - self._last_heard
            idle_left = self._idle_close - (now - self._idle_since) if not self._streams else None
            if idle_left is not None and idle_left <= 0:
                self.close()
                return
            if heard < self._ping_period:
                wait = self._ping_period - heard
                await asyncio.sleep(wait if idle_left is None else min(wait, idle_left))
                continue
            self._pong = self._loop.create_future()
            self._h2.ping(os.urandom(8))
            self._flush()
            try:
                async with asyncio.timeout(patience):
                    await self._pong
            except TimeoutError:
                self._abort(f"did not answer a PING within {patience:g}s")
                return
            self._last_heard = self._loop.time()

    def _abort(self, why: str) -> None:
        self._mark_lost(UpstreamError(f"the API server {self.where} {why}"))
        if self._transport is not None:
            self._transport.abort()

    def _mark_lost(self, error: UpstreamError) -> None:
        if self.lost:
            return
        self.lost = True
        if not self.ready.done():
            self.ready.set_exception(error)
        self._window_opened.set()
        self._writable.set()
        for stream in list(self._streams.values()):
            stream.on_error(error)
        if self._keeper is not None and self._keeper is not asyncio.current_task():
            self._keeper.cancel()
        self._on_change(self)

    def _flush(self) -> None:
        data = self._h2.data_to_send()
        if data and self._transport is not None and not self._transport.is_closing():
            self._transport.write(data)
