"""Watch streams taken apart into events and put back together, in JSON or protobuf.

The proxy reads the API server's chunked watch and needs, for each event, its
type and resourceVersion (to resume) and its bytes as the API server framed a
single event: a JSON line, or a protobuf `WatchEvent` without the 4-byte
length prefix of the chunked stream (what the API server sends as one
WebSocket message). Only that much of protobuf is decoded.

An event is held in memory until it is complete, so its size is bounded
(`max_event_bytes`): an upstream that sends a line without end, or declares a
4 GiB protobuf message, is refused with `EventTooLargeError` and its bytes freed.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from typing import Any, Protocol

from proxy.config import DEFAULT_MAX_EVENT_BYTES
from proxy.streams.protobuf import bytes_field, iter_fields, length_delimited_fields, varint_field

PROTOBUF = "application/vnd.kubernetes.protobuf"
_MAGIC = b"k8s\x00"
_LENGTH = struct.Struct(">I")

BOOKMARK = "BOOKMARK"
ERROR = "ERROR"



class EventTooLargeError(ValueError):
    """The upstream sent (or announced) a watch event larger than `max_event_bytes`."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"the API server sent a watch event larger than the proxy's limit of {limit} bytes "
            "(--max-watch-event-bytes)"
        )
        self.limit = limit


@dataclass(frozen=True)
class WatchEvent:
    """One event: its type, the resourceVersion it carries, and its bytes (unframed)."""

    type: str
    resource_version: str | None
    data: bytes
    # For ERROR events: the Status's code (410 means the resourceVersion is too old).
    code: int | None = None


class WatchCodec(Protocol):
    """Splits a stream into events, frames events for a chunked stream, makes ERROR events."""

    content_type: str
    is_text: bool  # WebSocket text messages (JSON) rather than binary ones (protobuf)

    def feed(self, data: bytes) -> list[WatchEvent]: ...

    def frame(self, event: WatchEvent) -> bytes: ...

    def error_event(self, status: dict[str, Any]) -> WatchEvent: ...


def codec_for(content_type: str, *, max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES
              ) -> WatchCodec:
    """The codec for the upstream's Content-Type: protobuf when it says so, else JSON lines.

    `max_event_bytes`: the largest event `feed` holds (0: no limit).
    """
    media_type = content_type.split(";")[0].strip().lower()
    if media_type == PROTOBUF:
        return ProtobufWatchCodec(content_type=content_type, max_event_bytes=max_event_bytes)
    return JSONWatchCodec(
        content_type=content_type or "application/json", max_event_bytes=max_event_bytes
    )


class JSONWatchCodec:
    """One compact JSON object per line, as Go's json.Encoder writes them."""

    is_text = True

    def __init__(
        self,
        *,
        content_type: str = "application/json",
        max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES,
    ) -> None:
        self.content_type = content_type
        self._limit = max_event_bytes
        self._buffer = bytearray()
        # The start of the buffer holds no newline up to here: a long line is scanned once.
        self._scanned = 0

    def feed(self, data: bytes) -> list[WatchEvent]:
        buffer = self._buffer
        buffer += data
        events = []
        start = 0
        while (end := buffer.find(b"\n", self._scanned)) != -1:
            self._check(end - start)
            line = bytes(buffer[start:end])
            start = self._scanned = end + 1
            if line.strip():
                events.append(self._event(line + b"\n"))
        del buffer[:start]
        self._scanned = len(buffer)
        self._check(len(buffer))
        return events

    @property
    def held_bytes(self) -> int:
        """Bytes of an incomplete event held until the rest arrives."""
        return len(self._buffer)

    def _check(self, size: int) -> None:
        if self._limit and size > self._limit:
            self._buffer.clear()  # frees its memory
            self._scanned = 0
            raise EventTooLargeError(self._limit)

    def frame(self, event: WatchEvent) -> bytes:
        return event.data

    def error_event(self, status: dict[str, Any]) -> WatchEvent:
        data = json.dumps({"type": ERROR, "object": status}, separators=(",", ":")).encode()
        return WatchEvent(ERROR, None, data + b"\n", code=_int(status.get("code")))

    @staticmethod
    def _event(line: bytes) -> WatchEvent:
        try:
            decoded = json.loads(line)
            event_type = str(decoded["type"])
            obj = decoded.get("object") or {}
        except (ValueError, KeyError, TypeError, AttributeError):
            raise ValueError("the API server sent a watch event that is not JSON") from None
        if event_type == ERROR:
            return WatchEvent(event_type, None, line, code=_int(obj.get("code")))
        metadata = obj.get("metadata") if isinstance(obj, dict) else None
        version = metadata.get("resourceVersion") if isinstance(metadata, dict) else None
        return WatchEvent(event_type, str(version) if version else None, line)


class ProtobufWatchCodec:
    """Length-prefixed `metav1.WatchEvent` messages wrapping `k8s\\0`-enveloped objects."""

    is_text = False

    def __init__(
        self,
        *,
        content_type: str = f"{PROTOBUF};stream=watch",
        max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES,
    ) -> None:
        self.content_type = content_type
        self._limit = max_event_bytes
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[WatchEvent]:
        self._buffer += data
        events = []
        while len(self._buffer) >= _LENGTH.size:
            (length,) = _LENGTH.unpack_from(self._buffer)
            if self._limit and length > self._limit:
                # Refused on the announcement: none of its bytes are held.
                self._buffer.clear()
                raise EventTooLargeError(self._limit)
            end = _LENGTH.size + length
            if len(self._buffer) < end:
                break
            message = bytes(self._buffer[_LENGTH.size : end])
            del self._buffer[:end]
            events.append(decode_protobuf_event(message))
        return events

    @property
    def held_bytes(self) -> int:
        """Bytes of an incomplete event held until the rest arrives."""
        return len(self._buffer)

    def frame(self, event: WatchEvent) -> bytes:
        return _LENGTH.pack(len(event.data)) + event.data

    def error_event(self, status: dict[str, Any]) -> WatchEvent:
        return WatchEvent(ERROR, None, encode_protobuf_error(status), code=_int(status.get("code")))


def decode_protobuf_event(message: bytes) -> WatchEvent:
    """Type and resourceVersion (or, for ERROR, the Status code) of one WatchEvent."""
    try:
        fields = length_delimited_fields(message)
        event_type = fields.get(1, b"").decode()
        raw = length_delimited_fields(fields.get(2, b"")).get(1, b"")
        if not raw.startswith(_MAGIC):
            raise ValueError("no k8s envelope")
        unknown = length_delimited_fields(raw[len(_MAGIC) :])
        kind = length_delimited_fields(unknown.get(1, b"")).get(2, b"").decode()
        obj = unknown.get(2, b"")
        if event_type == ERROR:
            code = next((v for n, w, v in iter_fields(obj) if n == 6 and w == 0), None)
            return WatchEvent(ERROR, None, message, code=code if isinstance(code, int) else None)
        metadata = length_delimited_fields(length_delimited_fields(obj).get(1, b""))
        # Tables carry a ListMeta (resourceVersion is field 2); objects an ObjectMeta (6).
        version = metadata.get(2 if kind == "Table" else 6, b"").decode()
    except (ValueError, UnicodeDecodeError, AttributeError):
        raise ValueError("the API server sent a protobuf watch event that does not parse") from None
    return WatchEvent(event_type, version or None, message)


def encode_protobuf_error(status: dict[str, Any]) -> bytes:
    """A WatchEvent{type: ERROR, object: Status}, as the API server encodes it."""
    body = (
        bytes_field(1, b"")  # ListMeta
        + bytes_field(2, str(status.get("status", "Failure")).encode())
        + bytes_field(3, str(status.get("message", "")).encode())
        + bytes_field(4, str(status.get("reason", "")).encode())
        + varint_field(6, _int(status.get("code")) or 0)
    )
    type_meta = bytes_field(1, b"v1") + bytes_field(2, b"Status")
    unknown = bytes_field(1, type_meta) + bytes_field(2, body)
    extension = bytes_field(1, _MAGIC + unknown)
    return bytes_field(1, ERROR.encode()) + bytes_field(2, extension)


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None

