"""Watch streams: one WatchEvent per line (JSON), per frame (protobuf) or per WebSocket message.

Mirrors the apiserver's watch cache: initial ADDED events in key order when the watch
starts from "" or "0" (or asks for them with sendInitialEvents), then an
initial-events-end BOOKMARK when bookmarks are allowed; replay from history for a
resourceVersion, a 200 with one 410 `ERROR` event when history no longer reaches back,
nothing at all until the store passes a resourceVersion from the future; selector
transitions turned into ADDED/DELETED; bookmarks about every minute and 2 s before the
deadline, but only once the store moved on; an end after timeoutSeconds, or after a
random time between the minimum request timeout and twice that.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import copy
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import WSMsgType, hdrs, web

from proxy.testing import protobuf_encoding as pb
from proxy.testing import status, websocket_handshake
from proxy.testing.kinds import ResourceKind
from proxy.testing.list_options import (
    ListOptions,
    parse_list_options,
    validate_list_options,
    with_watch_list_defaults,
)
from proxy.testing.negotiation import Representation
from proxy.testing.responses import encode_json
from proxy.testing.selectors import ObjectFilter
from proxy.testing.state import ServerState
from proxy.testing.status import JSONObject
from proxy.testing.store import StoreEvent, Subscription
from proxy.testing.table import to_table

INITIAL_EVENTS_END = "k8s.io/initial-events-end"
LIST_BLUEPRINT = "kubernetes.io/initial-events-list-blueprint"
PRE_TIMEOUT_BOOKMARK_S = 2.0
_PROTOBUF_TYPES = frozenset({"application/vnd.kubernetes.protobuf"})
_JSON_TYPES = frozenset({"application/json", "application/*", "*/*"})


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
    send_initial_events: bool = True
    protobuf: bool = False


def watch_options(request: web.Request, *, forced: bool) -> ListOptions:
    """Decode (400), default and validate (422) the query of a watch, before streaming."""
    options = parse_list_options(request.query)
    if forced and not options.watch:
        options = ListOptions(**{**options.__dict__, "watch": True})
    options = with_watch_list_defaults(options)
    validate_list_options(options)
    return options


def wants_protobuf(accept: str) -> bool:
    """The first streamable type in Accept decides: protobuf, or JSON (and Table)."""
    for entry in accept.split(","):
        media_type, *params = (part.strip().lower() for part in entry.split(";"))
        if any(p.startswith("as=") for p in params):
            return False
        if media_type in _PROTOBUF_TYPES:
            return True
        if media_type in _JSON_TYPES:
            return False
    return False


def deadline_seconds(options: ListOptions, state: ServerState) -> float | None:
    """timeoutSeconds, else a random time in [min request timeout, twice that)."""
    settings = state.watch
    timeout = float(max(options.timeout_seconds or 0, 0))
    if not options.timeout_seconds and settings.min_request_timeout > 0:
        timeout = settings.min_request_timeout * (random.random() + 1.0)
    elif options.timeout_seconds is None:
        return settings.timeout
    return timeout if settings.timeout is None else min(timeout, settings.timeout)


def build_watch_request(
    state: ServerState,
    options: ListOptions,
    *,
    kind: ResourceKind,
    namespace: str | None,
    object_filter: ObjectFilter,
    representation: Representation,
    include_object: str,
    protobuf: bool,
) -> WatchRequest:
    return WatchRequest(
        kind=kind,
        namespace=namespace,
        filter=object_filter,
        resource_version=options.resource_version,
        timeout=deadline_seconds(options, state),
        bookmarks=options.allow_watch_bookmarks,
        representation=representation,
        include_object=include_object,
        send_initial_events=bool(options.send_initial_events),
        protobuf=protobuf,
    )


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
    """Turns (type, object) into one event's bytes: a JSON line, a Table, or a protobuf frame."""

    def __init__(self, state: ServerState, watch: WatchRequest, *, framed: bool = True) -> None:
        self._state = state
        self._watch = watch
        self._first = True
        self._framed = framed

    def event(self, event_type: str, obj: JSONObject) -> bytes:
        kind = self._watch.kind
        if self._watch.protobuf:
            encoded = pb.encode_object(obj, api_version=kind.api_version, kind=kind.kind)
            frame = pb.watch_event(event_type, encoded)
            return frame if self._framed else frame[4:]
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

    def error(self, error: status.APIError) -> bytes:
        if self._watch.protobuf:
            encoded = pb.encode_object(error.to_status(), api_version="v1", kind="Status")
            frame = pb.watch_event("ERROR", encoded)
            return frame if self._framed else frame[4:]
        return encode_json({"type": "ERROR", "object": error.to_status()})

    def bookmark(self, resource_version: int, *, initial_events_end: bool = False) -> bytes:
        metadata: JSONObject = {"resourceVersion": str(resource_version), "creationTimestamp": None}
        if initial_events_end:
            metadata["annotations"] = {
                INITIAL_EVENTS_END: "true",
                LIST_BLUEPRINT: self._blueprint(),
            }
        return self.event("BOOKMARK", {"metadata": metadata})

    def _blueprint(self) -> str:
        """An empty list of the watched kind, in the stream's encoding, base64-encoded."""
        kind = self._watch.kind
        if self._watch.protobuf:
            raw = pb.encode_list([], metadata={}, api_version=kind.api_version, item_kind=kind.kind)
        else:
            empty: JSONObject = {
                "kind": kind.list_kind,
                "apiVersion": kind.api_version,
                "metadata": {},
                "items": None,
            }
            raw = encode_json(empty).rstrip(b"\n")
        return base64.b64encode(raw).decode()


@dataclass
class _Start:
    """Where a watch begins: the events to send first and the version they bring it to."""

    events: list[tuple[str, JSONObject]]
    resource_version: int
    initial_events_end: bool = False
    expired: status.APIError | None = None


def _parse_resource_version(text: str) -> int:
    if text in ("", "0"):
        return 0
    if not text.isdigit():
        raise status.bad_request(
            f'resourceVersion: Invalid value: "{text}": strconv.ParseUint: parsing '
            f'"{text}": invalid syntax'
        )
    return int(text)


def _start(state: ServerState, watch: WatchRequest) -> _Start:
    store = state.store
    requested = _parse_resource_version(watch.resource_version)
    if watch.send_initial_events:
        objects = store.list(watch.kind.plural, namespace=watch.namespace)
        events = [("ADDED", obj) for obj in objects if watch.filter.matches(obj)]
        return _Start(events, max(store.resource_version, requested), watch.bookmarks)
    if watch.resource_version in ("", "0"):
        return _Start([], store.resource_version)
    if requested > store.resource_version:
        return _Start([], requested)  # from the future: nothing until the store gets there
    try:
        history = store.events_since(requested)
    except status.APIError as error:
        if error.code != 410:
            raise
        return _Start([], requested, expired=error)
    seen = (_event_for(watch, event) for event in history)
    return _Start([e for e in seen if e is not None], store.resource_version)


Write = Callable[[bytes], Awaitable[None]]


async def _pump(
    write: Write,
    subscription: Subscription,
    encoder: _Encoder,
    state: ServerState,
    watch: WatchRequest,
    start: _Start,
) -> None:
    """Write live events and bookmarks until the deadline."""
    loop = asyncio.get_running_loop()
    began = loop.time()
    deadline = None if watch.timeout is None else began + watch.timeout
    interval = state.watch.bookmark_interval
    periodic = began + interval
    pre_timeout = None
    if deadline is not None and deadline - PRE_TIMEOUT_BOOKMARK_S > began:
        pre_timeout = deadline - PRE_TIMEOUT_BOOKMARK_S
    sent_version = start.resource_version
    while deadline is None or loop.time() < deadline:
        wakes = [t for t in (periodic, pre_timeout, deadline) if t is not None]
        if not watch.bookmarks:
            wakes = [deadline] if deadline is not None else []
        wait = max(min(wakes) - loop.time(), 0) if wakes else None
        try:
            event = await asyncio.wait_for(subscription.get(), timeout=wait)
        except TimeoutError:
            now = loop.time()
            due = now >= periodic or (pre_timeout is not None and now >= pre_timeout)
            if now >= periodic:
                periodic = now + interval
            if pre_timeout is not None and now >= pre_timeout:
                pre_timeout = None
            # A bookmark only tells the client something once the store moved on.
            if watch.bookmarks and due and state.store.resource_version > sent_version:
                sent_version = state.store.resource_version
                await write(encoder.bookmark(sent_version))
            continue
        if event.resource_version <= start.resource_version:
            continue
        seen = _event_for(watch, event)
        if seen is not None:
            sent_version = event.resource_version
            await write(encoder.event(*seen))


async def serve_watch(
    request: web.Request, state: ServerState, watch: WatchRequest
) -> web.StreamResponse:
    """Stream events until the deadline, or until the client goes away."""
    content_type = pb.PROTOBUF_WATCH if watch.protobuf else "application/json"
    response = web.StreamResponse(headers={hdrs.CONTENT_TYPE: content_type})
    response.enable_chunked_encoding()
    encoder = _Encoder(state, watch)
    async with state.streams.track():
        with state.store.subscribe() as subscription:
            start = _start(state, watch)
            with contextlib.suppress(ConnectionResetError):
                await response.prepare(request)
                if start.expired is not None:
                    await response.write(encoder.error(start.expired))
                else:
                    await _send_start(response.write, encoder, start)
                    await _pump(response.write, subscription, encoder, state, watch, start)
                await response.write_eof()
    return response


async def _send_start(write: Write, encoder: _Encoder, start: _Start) -> None:
    for event_type, obj in start.events:
        await write(encoder.event(event_type, obj))
    if start.initial_events_end:
        await write(encoder.bookmark(start.resource_version, initial_events_end=True))


async def serve_watch_websocket(
    request: web.Request, state: ServerState, watch: WatchRequest
) -> web.StreamResponse:
    """The apiserver's WebSocket watch: one message per event (text for JSON).

    The handshake is golang.org/x/net/websocket's (see websocket_handshake): no Origin,
    a bad version or two subprotocols are refused with raw answers.
    """
    protocols = websocket_handshake.requested_protocols(request)
    refusal = websocket_handshake.check(request, protocols)
    if refusal is not None:
        return websocket_handshake.refusal_response(request, refusal)
    ws = web.WebSocketResponse(protocols=tuple(protocols))
    await ws.prepare(request)
    encoder = _Encoder(state, watch, framed=False)
    frame_type = WSMsgType.BINARY if watch.protobuf else WSMsgType.TEXT

    async def send(data: bytes) -> None:
        await ws.send_frame(data, frame_type)

    async def ignore_client() -> None:
        async for _ in ws:
            pass

    async with state.streams.track():
        with state.store.subscribe() as subscription:
            reader = asyncio.create_task(ignore_client())
            try:
                start = _start(state, watch)
                if start.expired is not None:
                    await send(encoder.error(start.expired))
                else:
                    await _send_start(send, encoder, start)
                    pump = asyncio.create_task(
                        _pump(send, subscription, encoder, state, watch, start)
                    )
                    await asyncio.wait({pump, reader}, return_when=asyncio.FIRST_COMPLETED)
                    pump.cancel()
                    await asyncio.gather(pump, return_exceptions=True)
            finally:
                reader.cancel()
                await asyncio.gather(reader, return_exceptions=True)
                await ws.close()
    return ws
