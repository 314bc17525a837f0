"""WebSocket watch, served by the proxy itself from an ordinary chunked watch upstream.

kubectl proxy splices a WebSocket watch through to the API server, where it
fails without `Origin`, gets no keep-alive pings and ends after 30-60 minutes.
Here the upstream side is a plain watch opened through `Upstream.open` (the
credential injected there), so it works against any API server; each event
becomes one WebSocket message framed as the kube-apiserver frames it (a text
message holding the JSON line, or a binary message holding the protobuf
`WatchEvent`), and the watch is resumed when the upstream ends it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiohttp import WSCloseCode, WSMsgType, hdrs, web
from multidict import CIMultiDict

from proxy.config import DEFAULT_MAX_EVENT_BYTES
from proxy.errors import ProxyError
from proxy.exchange import CLIENT_CLOSED, note_outcome
from proxy.headers import outbound_request_headers
from proxy.status import status_body, status_response
from proxy.streams.race import race
from proxy.streams.shutdown import OpenStreams
from proxy.streams.truncation import abort_truncated
from proxy.streams.watch_codecs import (
    ERROR,
    PROTOBUF,
    WatchCodec,
    WatchEvent,
    codec_for,
)
from proxy.streams.watch_resume import (
    DEFAULT_REOPEN_INTERVAL,
    Opened,
    ResumingWatch,
    WatchRefused,
    status_from_answer,
)
from proxy.upstream.session import Upstream

log = logging.getLogger(__name__)

# The subprotocols the API server's stream readers speak (wsstream); a watch is framed the
# same whichever the client picks, as in the API server.
WATCH_SUBPROTOCOLS = ("binary.k8s.io", "base64.binary.k8s.io")
# The WebSocket handshake is between the client and the proxy: none of it goes upstream.
_HANDSHAKE_PREFIX = "sec-websocket-"
# What a watch client sends is read and dropped, but aiohttp assembles each message first:
# hold no more than this of one (a larger one closes the WebSocket with 1009).
MAX_CLIENT_MESSAGE_BYTES = 64 * 1024


def watch_request_headers(request: web.Request) -> CIMultiDict[str]:
    """The client's headers for the upstream watch: sanitised, without the WebSocket handshake."""
    headers = outbound_request_headers(request.headers.items(), keep_content_length=False)
    for name in list(headers):
        if name.lower().startswith(_HANDSHAKE_PREFIX) or name.lower() == "origin":
            headers.popall(name, None)
    return headers


def preferred_codec(accept: str) -> WatchCodec:
    """How to encode an error before the upstream said: protobuf if the client asked first."""
    first = accept.split(",")[0].split(";")[0].strip().lower()
    return codec_for(PROTOBUF if first == PROTOBUF else "application/json")


def close_code_after(event_code: int | None) -> WSCloseCode:
    """410 ends a watch normally (the client relists); any other failure is an error."""
    return WSCloseCode.OK if event_code == 410 else WSCloseCode.INTERNAL_ERROR


class WatchHandler:
    """Serves watches with resume: over WebSocket always, chunked when `--watch-resume` asks.

    Contract: called only for watch requests (`is_watch_request`), after the filter.
    The client's messages are ignored; its close cancels the upstream watch at once.
    """

    def __init__(
        self,
        upstream: Upstream,
        *,
        ping_interval: float,
        reopen_interval: float = DEFAULT_REOPEN_INTERVAL,
        streams: OpenStreams | None = None,
        max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES,
    ) -> None:
        self._upstream = upstream
        self._ping_interval = ping_interval
        self._reopen_interval = reopen_interval
        self._streams = streams or OpenStreams()
        self._max_event_bytes = max_event_bytes

    def _watch(self, request: web.Request) -> ResumingWatch:
        return ResumingWatch(
            self._upstream,
            raw_path=request.raw_path,
            headers=watch_request_headers(request),
            reopen_interval=self._reopen_interval,
            max_event_bytes=self._max_event_bytes,
        )

    async def websocket(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(
            protocols=WATCH_SUBPROTOCOLS,
            heartbeat=self._ping_interval or None,
            max_msg_size=MAX_CLIENT_MESSAGE_BYTES,  # the client's; ours are not limited
        )
        await ws.prepare(request)
        pump = asyncio.create_task(self._pump(request, ws))

        async def going_away() -> None:
            pump.cancel()
            await ws.close(code=WSCloseCode.GOING_AWAY, message=b"proxy shutting down")

        with self._streams.track(going_away):
            pump_ended = await race(pump, _ignore_messages(ws))
        if not pump_ended:
            note_outcome(request, CLIENT_CLOSED)
        await ws.close()
        return ws

    async def _pump(self, request: web.Request, ws: web.WebSocketResponse) -> None:
        codec = preferred_codec(request.headers.get(hdrs.ACCEPT, ""))
        close_code, message = WSCloseCode.OK, b"watch ended"
        try:
            async with contextlib.aclosing(self._watch(request).events()) as events:
                async for item in events:
                    if isinstance(item, Opened):
                        codec = item.codec
                        continue
                    await _send(ws, codec, item)
                    if item.type == ERROR:
                        close_code, message = close_code_after(item.code), b"watch failed"
        except WatchRefused as refused:
            event = codec.error_event(status_from_answer(refused.status, refused.body))
            await _send(ws, codec, event)
            close_code, message = close_code_after(event.code), b"watch refused"
        except ProxyError as exc:
            event = codec.error_event(status_body(exc.code, str(exc), reason=exc.reason))
            await _send(ws, codec, event)
            close_code, message = WSCloseCode.INTERNAL_ERROR, b"API server unavailable"
        except ValueError as exc:
            log.warning("watch %s: %s", request.path, exc)
            close_code, message = WSCloseCode.INTERNAL_ERROR, b"unreadable watch stream"
        await ws.close(code=close_code, message=message)

    async def chunked(self, request: web.Request) -> web.StreamResponse:
        """A chunked watch, resumed upstream: the client sees one stream that does not end."""
        response: web.StreamResponse | None = None

        async def relay() -> None:
            nonlocal response
            async with contextlib.aclosing(self._watch(request).events()) as events:
                async for item in events:
                    if isinstance(item, Opened):
                        codec = item.codec
                        response = web.StreamResponse(headers=item.headers)
                        response.enable_chunked_encoding()
                        await response.prepare(request)
                    elif response is not None:
                        await response.write(codec.frame(item))

        relaying = asyncio.ensure_future(relay())
        try:
            with self._streams.track(relaying.cancel):
                await asyncio.shield(relaying)
        except asyncio.CancelledError:
            if not self._streams.stopping:
                relaying.cancel()
                raise
            # Shutting down: end the stream with its last chunk, as a watch ends.
        except WatchRefused as refused:
            return web.Response(
                status=refused.status,
                body=refused.body,
                headers={hdrs.CONTENT_TYPE: refused.content_type or "application/json"},
            )
        except ValueError as exc:
            abort_truncated(request, exc)  # an unreadable stream must not look complete
        except ConnectionResetError:
            note_outcome(request, CLIENT_CLOSED)  # the upstream watch is closed already
        if response is None:
            return status_response(502, "the API server's watch stream could not be read")
        if request.transport is None or request.transport.is_closing():
            return response
        await response.write_eof()
        return response


async def _send(ws: web.WebSocketResponse, codec: WatchCodec, event: WatchEvent) -> None:
    """One event, one unfragmented message: text for JSON, binary for protobuf."""
    await ws.send_frame(event.data, WSMsgType.TEXT if codec.is_text else WSMsgType.BINARY)


async def _ignore_messages(ws: web.WebSocketResponse) -> None:
    """Read (and drop) what the client sends: it must be read for pings, pongs and close."""
    async for _ in ws:
        pass
