"""Watches that do not end: re-open the upstream watch where the last one stopped.

The API server ends every watch after `timeoutSeconds` or a random 30-60
minutes, and connections drop. `ResumingWatch` asks for bookmarks and, when the
upstream stream ends without the client asking, opens it again from the last
resourceVersion seen, so the client sees one stream with nothing lost and
nothing repeated. A `410 Gone` on re-open reaches the client as the `ERROR`
event the API server itself sends, and the stream ends there: the client
relists, as client-go does.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote, unquote_plus

from multidict import CIMultiDict

from proxy.config import DEFAULT_MAX_EVENT_BYTES
from proxy.errors import UpstreamError
from proxy.headers import outbound_response_headers
from proxy.routing.canonical import parse_query
from proxy.status import status_body
from proxy.streams.watch_codecs import (
    BOOKMARK,
    ERROR,
    EventTooLargeError,
    WatchCodec,
    WatchEvent,
    codec_for,
)
from proxy.upstream.session import Upstream
from proxy.upstream.transport import ResponseBody

log = logging.getLogger(__name__)

# A refusal's body is a Status: small. Read no more than this of it.
MAX_REFUSAL_BODY = 64 * 1024
# An upstream that keeps ending streams at once is re-opened no more often than this.
DEFAULT_REOPEN_INTERVAL = 1.0


def replace_params(raw_query: str, values: Mapping[str, str | None]) -> str:
    """The raw query with these parameters set (None: removed); every other byte kept."""
    kept = [
        part
        for part in raw_query.split("&")
        if part and unquote_plus(part.partition("=")[0]) not in values
    ]
    kept += [f"{name}={quote(value, safe='')}" for name, value in values.items() if value]
    return "&".join(kept)


def later_version(current: str | None, seen: str) -> str:
    """The resume point after seeing `seen`.

    resourceVersions are opaque, but etcd-backed servers give increasing integers,
    and a watch without a resourceVersion starts with ADDED events in key order, not
    version order: keep the largest when both are integers, else the latest.
    """
    if current is not None and current.isdigit() and seen.isdigit():
        return current if int(current) > int(seen) else seen
    return seen


async def _read_refusal(body: ResponseBody) -> bytes:
    """A refusal's whole body, however it was split in transit, up to MAX_REFUSAL_BODY."""
    pieces: list[bytes] = []
    size = 0
    while size < MAX_REFUSAL_BODY and (piece := await body.read()):
        pieces.append(piece)
        size += len(piece)
    return b"".join(pieces)[:MAX_REFUSAL_BODY]


def status_from_answer(code: int, body: bytes) -> dict[str, Any]:
    """The Status an upstream refusal carries, or one describing it."""
    try:
        decoded = json.loads(body)
    except ValueError:
        decoded = None
    if isinstance(decoded, dict) and decoded.get("kind") == "Status":
        return decoded
    text = body[:200].decode(errors="replace").strip()
    return status_body(code, f"the API server refused the watch with {code}: {text}".strip(": "))


@dataclass(frozen=True)
class Opened:
    """The first upstream answer is a stream: how it is encoded, and its headers."""

    codec: WatchCodec
    headers: CIMultiDict[str]


class WatchRefused(Exception):
    """The first upstream answer was not a stream (403, 404, ...): relay it or report it."""

    def __init__(self, *, status: int, content_type: str, body: bytes) -> None:
        super().__init__(f"the API server answered {status}")
        self.status = status
        self.content_type = content_type
        self.body = body


class ResumingWatch:
    """One client's watch, re-opened upstream until the client's own timeout, an ERROR, or the
    client leaves (cancel the consumer: the upstream request is closed at once).

    `events()` yields `Opened` once, then events; an `ERROR` event is the last one.
    Bookmarks are always asked for; they reach the client only if it asked too.
    """

    def __init__(
        self,
        upstream: Upstream,
        *,
        raw_path: str,
        headers: CIMultiDict[str],
        reopen_interval: float = DEFAULT_REOPEN_INTERVAL,
        max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES,
    ) -> None:
        self._upstream = upstream
        self._path, _, self._raw_query = raw_path.partition("?")
        self._headers = headers
        self._reopen_interval = reopen_interval
        self._max_event_bytes = max_event_bytes
        flags = parse_query(self._raw_query)
        self._client_bookmarks = flags.flag("allowWatchBookmarks")
        self._initial_events = flags.flag("sendInitialEvents")
        query = dict(parse_qsl(self._raw_query, keep_blank_values=True))
        timeout = query.get("timeoutSeconds", "")
        self._timeout = float(timeout) if timeout.isdigit() and int(timeout) > 0 else None
        self.resource_version: str | None = None
        self._bookmark_seen = False

    async def events(self) -> AsyncGenerator[Opened | WatchEvent, None]:
        loop = asyncio.get_running_loop()
        deadline = None if self._timeout is None else loop.time() + self._timeout
        codec: WatchCodec | None = None
        too_large: dict[str, Any] | None = None
        while True:
            opened_at = loop.time()
            try:
                async with self._upstream.open(
                    "GET",
                    self._target(deadline, opened_at),
                    headers=self._headers,
                    long_lived=True,
                ) as response:
                    status, headers = response.head.status, response.head.headers
                    if status != 200:
                        body = await _read_refusal(response.body)
                        if codec is None:
                            content_type = headers.get("Content-Type", "")
                            raise WatchRefused(status=status, content_type=content_type, body=body)
                        yield codec.error_event(status_from_answer(status, body))
                        return
                    # A fresh splitter per stream: a broken-off event must not prefix the next.
                    splitter = codec_for(
                        headers.get("Content-Type", ""),
                        max_event_bytes=self._max_event_bytes,
                    )
                    if codec is None:
                        codec = splitter
                        relayed = outbound_response_headers(headers.items())
                        relayed.popall("Content-Length", None)
                        yield Opened(codec=codec, headers=relayed)
                    while chunk := await _read(response.body, deadline, self._path):
                        try:
                            events = splitter.feed(chunk)
                        except EventTooLargeError as exc:
                            # Its bytes are freed and the upstream request closed; the watch
                            # ends as the API server ends a failed one.
                            log.warning("watch %s: %s", self._path, exc)
                            too_large = status_body(500, str(exc))
                            break
                        for event in events:
                            self._track(event)
                            if event.type == BOOKMARK and not self._client_bookmarks:
                                continue
                            yield event
                            if event.type == ERROR:
                                return
            except UpstreamError as exc:
                if codec is None:
                    raise
                log.warning("re-opening watch %s failed: %s", self._path, exc)
                yield codec.error_event(status_body(exc.code, str(exc), reason=exc.reason))
                return
            if too_large is not None and codec is not None:
                yield codec.error_event(too_large)
                return
            if deadline is not None and loop.time() >= deadline:
                return
            if self._initial_events and not self._bookmark_seen:
                return  # the initial-events-end bookmark has not come: resuming would lose it
            log.debug("watch %s ended upstream; resuming at %s", self._path, self.resource_version)
            await asyncio.sleep(max(0.0, opened_at + self._reopen_interval - loop.time()))

    def _track(self, event: WatchEvent) -> None:
        if event.resource_version is not None:
            self.resource_version = later_version(self.resource_version, event.resource_version)
        if event.type == BOOKMARK:
            self._bookmark_seen = True

    def _target(self, deadline: float | None, now: float) -> str:
        values: dict[str, str | None] = {"allowWatchBookmarks": "true"}
        if deadline is not None:
            values["timeoutSeconds"] = str(max(1, math.ceil(deadline - now)))
        if self.resource_version is not None:
            values["resourceVersion"] = self.resource_version
            values["sendInitialEvents"] = None
            values["resourceVersionMatch"] = None
        return f"{self._path}?{replace_params(self._raw_query, values)}"


async def _read(body: ResponseBody, deadline: float | None, path: str) -> bytes:
    """The next bytes of the stream; b"" at its end, when it breaks, or at the deadline."""
    try:
        async with asyncio.timeout_at(deadline):
            return await body.read()
    except TimeoutError:
        return b""
    except UpstreamError as exc:
        # A dropped connection ends the stream like a timeout does: resume.
        log.info("watch %s: %s", path, exc)
        return b""
