"""Watch streams: one WatchEvent JSON per line, written and flushed as each change happens.

Mirrors the apiserver's watch cache: synthetic ADDED events for the current state
when no resourceVersion is given, replay from history otherwise, a 410 `ERROR`
event when the history no longer reaches back, selector transitions turned into
ADDED/DELETED, periodic BOOKMARKs, and an end after `timeoutSeconds`.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from aiohttp import WSMsgType, hdrs, web

from proxy.testing import status
from proxy.testing.kinds import ResourceKind
from proxy.testing.negotiation import Representation
from proxy.testing.responses import encode_json
from proxy.testing.selectors import ObjectFilter
from proxy.testing.state import ServerState
from proxy.testing.status import JSONObject
from proxy.testing.store import StoreEvent, Subscription
from proxy.testing.table import to_table


@dataclass(frozen=True)
class WatchRequest:
    """A parsed watch: what to watch, from where, for how long, in which shape."""

    kind: ResourceKind
    namespace: str | None
    filter: ObjectFilter
    resource_version: str  # "" or "0": start with the current state
    timeout: float | None
    bookmarks: bool
    representation: Representation
    include_object: str = "Metadata"


def _event_for(watch: WatchRequest, event: StoreEvent) -> tuple[str, JSONObject] | None:
    """The (type, object) this watcher sees for a change, if any."""
    if event.kind is not watch.kind:
        return None
    obj = event.object
    if watch.namespace is not None and obj["metadata"].get("namespace") != watch.namespace:
        return None
    now_matches = watch.filter.matches(obj)
    if event.type != "MODIFIED" or event.previous is None:
        return (event.type, obj) if now_matches else None
    was_matching = watch.filter.matches(event.previous)
    if now_matches:
        return ("MODIFIED" if was_matching else "ADDED", obj)
    if was_matching:
        gone = copy.deepcopy(event.previous)
        gone["metadata"]["resourceVersion"] = obj["metadata"]["resourceVersion"]
        return ("DELETED", gone)
    return None


class _Encoder:
    """Turns (type, object) into event lines; tables carry headers in the first event only."""

    def __init__(self, state: ServerState, watch: WatchRequest) -> None:
        self._state = state
        self._watch = watch
        self._first = True

    def event(self, event_type: str, obj: JSONObject) -> bytes:
        kind = self._watch.kind
        table_version = self._watch.representation.table_api_version
        if table_version is None:
            return encode_json({"type": event_type, "object": kind.with_type_meta(obj)})
        rv = obj["metadata"].get("resourceVersion", "")
        table = to_table(
            kind,
            [obj] if event_type != "BOOKMARK" else [],
            list_metadata={"resourceVersion": rv},
            now=self._state.clock(),
            include_object=self._watch.include_object,
            api_version=table_version,
            with_headers=self._first,
        )
        self._first = False
        return encode_json({"type": event_type, "object": table})

    def bookmark(self) -> bytes:
        rv = str(self._state.store.resource_version)
        return self.event("BOOKMARK", {"metadata": {"resourceVersion": rv}})


def _initial(state: ServerState, watch: WatchRequest) -> Iterable[tuple[str, JSONObject]]:
    store = state.store
    if watch.resource_version in ("", "0"):
        objects = store.list(watch.kind.plural, namespace=watch.namespace)
        return [("ADDED", obj) for obj in objects if watch.filter.matches(obj)]
    try:
        since = int(watch.resource_version)
    except ValueError as error:
        raise status.bad_request(f"invalid resource version: {watch.resource_version}") from error
    events = (_event_for(watch, event) for event in store.events_since(since))
    return [event for event in events if event is not None]


Write = Callable[[bytes], Awaitable[None]]


async def _pump(
    write: Write,
    subscription: Subscription,
    encoder: _Encoder,
    state: ServerState,
    watch: WatchRequest,
) -> None:
    """Write live events and bookmarks until the deadline."""
    loop = asyncio.get_running_loop()
    deadline = None if watch.timeout is None else loop.time() + watch.timeout
    interval = state.watch.bookmark_interval
    next_bookmark = loop.time() + interval
    while deadline is None or loop.time() < deadline:
        wake = next_bookmark if watch.bookmarks else None
        if deadline is not None:
            wake = deadline if wake is None else min(wake, deadline)
        wait = None if wake is None else max(wake - loop.time(), 0)
        try:
            event = await asyncio.wait_for(subscription.get(), timeout=wait)
        except TimeoutError:
            if watch.bookmarks and loop.time() >= next_bookmark:
                await write(encoder.bookmark())
                next_bookmark = loop.time() + interval
            continue
        seen = _event_for(watch, event)
        if seen is not None:
            await write(encoder.event(*seen))
    if watch.bookmarks:
        # The closing bookmark names the store's version: everything before it goes first.
        while (pending := subscription.get_nowait()) is not None:
            if (seen := _event_for(watch, pending)) is not None:
                await write(encoder.event(*seen))
        await write(encoder.bookmark())


async def serve_watch(
    request: web.Request, state: ServerState, watch: WatchRequest
) -> web.StreamResponse:
    """Stream events until the timeout, or until the client goes away."""
    response = web.StreamResponse(headers={hdrs.CONTENT_TYPE: "application/json"})
    response.enable_chunked_encoding()
    encoder = _Encoder(state, watch)
    async with state.streams.track():
        with state.store.subscribe() as subscription:
            try:
                initial = list(_initial(state, watch))
            except status.APIError as error:
                if error.code != 410:
                    raise
                initial = None
                expired = encode_json({"type": "ERROR", "object": error.to_status()})
            with contextlib.suppress(ConnectionResetError):
                await response.prepare(request)
                if initial is None:
                    await response.write(expired)
                else:
                    for event_type, obj in initial:
                        await response.write(encoder.event(event_type, obj))
                    await _pump(response.write, subscription, encoder, state, watch)
                await response.write_eof()
    return response


async def serve_watch_websocket(
    request: web.Request, state: ServerState, watch: WatchRequest
) -> web.StreamResponse:
    """The apiserver's WebSocket watch: one text message per event, the JSON line as it is.

    Like the apiserver (golang.org/x/net/websocket's default handshake), a request
    without `Origin` is refused: scripts that send none cannot watch this way.
    """
    if not request.headers.get(hdrs.ORIGIN):
        return web.Response(status=403, text="websocket: null origin\n")
    ws = web.WebSocketResponse(protocols=("binary.k8s.io", "base64.binary.k8s.io"))
    await ws.prepare(request)
    encoder = _Encoder(state, watch)

    async def send(data: bytes) -> None:
        await ws.send_frame(data, WSMsgType.TEXT)

    async def ignore_client() -> None:
        async for _ in ws:
            pass

    async with state.streams.track():
        with state.store.subscribe() as subscription:
            reader = asyncio.create_task(ignore_client())
            try:
                initial = list(_initial(state, watch))
                for event_type, obj in initial:
                    await send(encoder.event(event_type, obj))
                pump = asyncio.create_task(_pump(send, subscription, encoder, state, watch))
                await asyncio.wait({pump, reader}, return_when=asyncio.FIRST_COMPLETED)
                pump.cancel()
                await asyncio.gather(pump, return_exceptions=True)
            except status.APIError as error:
                await send(encode_json({"type": "ERROR", "object": error.to_status()}))
            finally:
                reader.cancel()
                await asyncio.gather(reader, return_exceptions=True)
                await ws.close()
    return ws
