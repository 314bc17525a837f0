"""Describe a reply in the recording's own terms (README "Response fields").

The summary is what the comparison reads: status, Content-Type, kind, Status fields,
list counts, Table shape, watch events and how the stream ended, WebSocket frames.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import gzip
import json
import zlib
from collections.abc import Iterable, Iterator
from typing import Any

import yaml

from tests.corpus import protobuf
from tests.corpus.placeholders import _dig
from tests.corpus.wire import OPCODES, WireResponse

RECORDED_HEADERS = (
    "cache-control", "content-encoding", "etag", "location", "warning", "www-authenticate",
    "sec-websocket-protocol", "upgrade", "connection", "transfer-encoding", "retry-after",
    "vary", "x-content-type-options", "last-modified", "expires",
)
TEXT_PREVIEW = 300


def _seconds(after: float) -> int:
    return int(after + 0.5)


def field_value(document: Any, path: str) -> Any:
    """A dotted path; a final `#` is the length of what it names."""
    if path.endswith(".#"):
        found = _dig(document, path[:-2])
        return len(found) if isinstance(found, list | dict | str) else None
    return _dig(document, path)


def _object_name(obj: Any) -> str | None:
    if not isinstance(obj, dict):
        return None
    if obj.get("kind") == "Table":
        rows = obj.get("rows") or []
        obj = (rows[0].get("object") or {}) if rows else {}
    name = (obj.get("metadata") or {}).get("name")
    return str(name) if name is not None else None


class _WatchSummary:
    """Accumulates events as they arrive, in the shape of the recording's `watch`."""

    def __init__(self) -> None:
        self.types: list[str] = []
        self.names: list[str | None] = []
        self.errors: list[dict[str, Any]] = []
        self.bookmarks: list[dict[str, Any]] = []
        self.object_kinds: list[str | None] = []

    def add(self, event: dict[str, Any], after_s: float) -> None:
        event_type = str(event.get("type"))
        obj = event.get("object") or {}
        self.types.append(event_type)
        self.object_kinds.append(obj.get("kind") if isinstance(obj, dict) else None)
        if event_type in ("BOOKMARK", "ERROR"):
            self.names.append(None)
        else:
            self.names.append(_object_name(obj))
        if event_type == "ERROR":
            self.errors.append({
                "code": obj.get("code"), "reason": obj.get("reason"),
                "message": obj.get("message"), "after_s": _seconds(after_s),
            })
        elif event_type == "BOOKMARK":
            annotations = (obj.get("metadata") or {}).get("annotations") or {}
            self.bookmarks.append({
                "after_s": _seconds(after_s),
                "initial_events_end": annotations.get("k8s.io/initial-events-end") == "true",
                "annotations": sorted(annotations),
                "object_kind": obj.get("kind"),
            })

    def result(self, response: WireResponse) -> dict[str, Any]:
        watch: dict[str, Any] = {"event_types": self.types, "event_names": self.names}
        if self.errors:
            watch["errors"] = self.errors
        if self.bookmarks:
            watch["bookmarks"] = self.bookmarks
        watch["end"] = end_of(response)
        return watch


def end_of(response: WireResponse) -> dict[str, Any]:
    end: dict[str, Any] = {"by": response.end_by, "after_s": _seconds(response.end_after_s)}
    if response.end_by == "server":
        end["how"] = response.end_how
    return end


def _timed_lines(response: WireResponse) -> Iterator[tuple[float, bytes]]:
    """Complete lines of the body, each stamped with when its last byte arrived."""
    pending = b""
    for after_s, data in response.pieces:
        pending += data
        *lines, pending = pending.split(b"\n")
        for line in lines:
            if line.strip():
                yield after_s, line
    if pending.strip():
        yield response.end_after_s, pending


TimedEvent = tuple[float, dict[str, Any]]


def _watch_events(lines: Iterable[tuple[float, bytes]]) -> list[TimedEvent] | None:
    """The body's lines as watch events, or None when it is not a stream of events."""
    events: list[TimedEvent] = []
    for after_s, line in lines:
        try:
            event = json.loads(line)
        except ValueError:
            return None
        if not isinstance(event, dict) or set(event) - {"type", "object"} or "type" not in event:
            return None
        events.append((after_s, event))
    return events


def _decoded(response: WireResponse) -> bytes:
    body = response.body
    encoding = (response.header("content-encoding") or "").lower()
    with contextlib.suppress(OSError, EOFError, zlib.error):
        if encoding == "gzip":
            return gzip.decompress(body)
        if encoding == "deflate":
            return zlib.decompress(body)
    return body


def describe_document(document: Any, *, raw: bytes) -> dict[str, Any]:
    """kind, Status fields, list counts, Table shape and name of a decoded body."""
    summary: dict[str, Any] = {}
    if not isinstance(document, dict):
        return summary
    summary["kind"] = document.get("kind")
    if "apiVersion" in document:
        summary["apiVersion"] = document.get("apiVersion")
    summary["indented"] = raw.lstrip().startswith((b"{\n", b"[\n"))
    metadata = document.get("metadata") if isinstance(document.get("metadata"), dict) else {}
    if document.get("kind") == "Status":
        summary.update(
            reason=document.get("reason", ""), code=document.get("code"),
            message=document.get("message", ""), status_field=document.get("status"),
        )
        if "details" in document:
            summary["details"] = document["details"]
    elif document.get("kind") == "Table":
        summary["columns"] = [c.get("name") for c in document.get("columnDefinitions") or []]
        rows = document.get("rows") or []
        summary["rows"] = len(rows)
        if rows and isinstance(rows[0].get("object"), dict):
            summary["row_object_kind"] = rows[0]["object"].get("kind")
    elif isinstance(document.get("items"), list):
        summary["items"] = len(document["items"])
    else:
        if metadata.get("name") is not None:
            summary["name"] = metadata["name"]
    if isinstance(document.get("items"), list) or document.get("kind") == "Table":
        if metadata.get("continue"):
            summary["continue"] = "<continue>"
        if metadata.get("remainingItemCount") is not None:
            summary["remainingItemCount"] = metadata["remainingItemCount"]
    return summary


def _websocket(response: WireResponse) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    counts: dict[str, int] = {}
    encodings: list[str] = []
    watch = _WatchSummary()
    for frame in response.frames:
        name = OPCODES.get(frame.opcode, str(frame.opcode))
        counts[name] = counts.get(name, 0) + 1
        if frame.opcode == 8:
            code = int.from_bytes(frame.payload[:2], "big") if len(frame.payload) >= 2 else None
            reason = frame.payload[2:].decode(errors="replace")
            summary["ws_close"] = {"code": code, "reason": reason}
            continue
        if frame.opcode not in (1, 2):
            continue
        payload, encoding = frame.payload, "json"
        try:
            event = json.loads(payload)
        except ValueError:
            try:
                event = json.loads(base64.b64decode(payload, validate=True))
                encoding = "base64 of json"
            except (ValueError, binascii.Error):
                event, encoding = None, "other"
        if encoding not in encodings:
            encodings.append(encoding)
        if isinstance(event, dict) and "type" in event:
            watch.add(event, frame.after_s)
    summary["ws_frames"] = counts
    summary["ws_payload"] = encodings
    summary["watch"] = watch.result(response)
    return summary


def _body(response: WireResponse, *, stream: bool) -> dict[str, Any]:
    content_type = response.header("content-type") or ""
    media, _, params = content_type.partition(";")
    media = media.strip().lower()
    body = _decoded(response)
    if response.header("content-encoding"):
        summary: dict[str, Any] = {"body_bytes_approx": len(response.body),
                                   "decoded_bytes_approx": len(body)}
    else:
        summary = {}
    if media == "application/vnd.kubernetes.protobuf" and "stream=watch" in params.replace(" ", ""):
        watch = _WatchSummary()
        kinds: list[str | None] = []
        for event_type, kind, name in protobuf.watch_frames(body):
            watch.types.append(event_type)
            watch.names.append(None if event_type in ("BOOKMARK", "ERROR") else name)
            kinds.append(kind)
        summary["watch"] = watch.result(response)
        summary["watch"]["object_kinds"] = kinds
        summary["watch"]["framing"] = "4-byte length prefix"
        return summary
    if media.startswith("application/vnd.kubernetes.protobuf") or body.startswith(protobuf.MAGIC):
        try:
            summary.update(protobuf.describe(body))
        except ValueError as error:
            summary["protobuf_error"] = str(error)
        return summary
    if media.endswith("+protobuf"):  # OpenAPI as protobuf: no k8s envelope to describe
        summary["protobuf_magic"] = False
        return summary
    if not body:
        if stream and response.status == 200 and "json" in media:
            summary["watch"] = _WatchSummary().result(response)
        else:
            summary["body_bytes"] = 0
        return summary
    if "json" in media or "yaml" in media:
        events = _watch_events(_timed_lines(response)) if "json" in media else None
        if events:
            watch = _WatchSummary()
            for after_s, event in events:
                watch.add(event, after_s)
            summary["watch"] = watch.result(response)
            return summary
        document = _parse(body, yaml_too="yaml" in media)
        if document is not _UNPARSED:
            summary.update(describe_document(document, raw=body))
            summary["document"] = document
            return summary
    document = _parse(body, yaml_too=False)
    if document is not _UNPARSED and isinstance(document, dict | list):
        summary["body_is_json"] = True
        summary["document"] = document
    text = body.decode(errors="replace")
    summary["text"] = text[:TEXT_PREVIEW]
    if len(text) > TEXT_PREVIEW:
        summary["text_truncated"] = True
    return summary


_UNPARSED = object()


def _parse(body: bytes, *, yaml_too: bool) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        pass
    if yaml_too:
        try:
            return yaml.safe_load(body)
        except yaml.YAMLError:
            pass
    return _UNPARSED


def summarise(
    response: WireResponse, *, stream: bool, websocket: bool, field_paths: Iterable[str] = ()
) -> dict[str, Any]:
    """The reply as the recording would have described it (plus the parsed `document`)."""
    summary: dict[str, Any] = {
        "status": response.status,
        "content_type": response.header("content-type"),
    }
    headers = {name: value for name, value in response.headers if name in RECORDED_HEADERS}
    if headers:
        summary["headers"] = headers
    if response.error:
        summary["error"] = response.error
        return summary
    if websocket and response.status == 101:
        summary.update(_websocket(response))
        return summary
    summary.update(_body(response, stream=stream))
    if "watch" not in summary and response.end_by == "client-cut":
        summary["stream_end"] = end_of(response)
    document = summary.get("document")
    paths = list(field_paths)
    if paths:
        summary["fields"] = {path: field_value(document, path) for path in paths}
    return summary
