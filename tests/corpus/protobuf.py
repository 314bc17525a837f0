"""Just enough protobuf to describe a Kubernetes reply: the `k8s\\0` envelope, TypeMeta,
Status, list item counts, metadata.name, and length-prefixed watch frames.

Written here on purpose: the fake and the proxy have their own readers, and a shared
bug must not make a wrong answer look right.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import Any

MAGIC = b"k8s\x00"


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise ValueError("truncated varint")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos


def fields(data: bytes) -> Iterator[tuple[int, int | bytes]]:
    """(field number, value) for varint and length-delimited fields; others skipped."""
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
            yield number, value
        elif wire == 2:
            length, pos = _varint(data, pos)
            if pos + length > len(data):
                raise ValueError("truncated field")
            yield number, data[pos : pos + length]
            pos += length
        elif wire in (1, 5):
            pos += 8 if wire == 1 else 4
        else:
            raise ValueError(f"unsupported wire type {wire}")


def _first(data: bytes, number: int) -> int | bytes | None:
    for found, value in fields(data):
        if found == number:
            return value
    return None


def _text(value: int | bytes | None) -> str | None:
    return value.decode() if isinstance(value, bytes) else None


DISCOVERY_KINDS = frozenset({"APIVersions", "APIGroup", "APIGroupList", "APIResourceList"})


def unwrap(body: bytes) -> tuple[str | None, str | None, bytes]:
    """(apiVersion, kind, raw object bytes) of a `k8s\\0` + runtime.Unknown body."""
    envelope = body[len(MAGIC) :] if body.startswith(MAGIC) else body
    type_meta = _first(envelope, 1)
    raw = _first(envelope, 2)
    api_version = kind = None
    if isinstance(type_meta, bytes):
        api_version, kind = _text(_first(type_meta, 1)), _text(_first(type_meta, 2))
    return api_version, kind, raw if isinstance(raw, bytes) else b""


def describe(body: bytes) -> dict[str, Any]:
    """What the recording notes about a protobuf body."""
    summary: dict[str, Any] = {"protobuf_magic": body.startswith(MAGIC)}
    if not summary["protobuf_magic"]:
        return summary
    api_version, kind, raw = unwrap(body)
    summary.update(kind=kind, apiVersion=api_version)
    if kind == "Status":
        code = _first(raw, 6)
        summary.update(
            status_field=_text(_first(raw, 2)),
            message=_text(_first(raw, 3)),
            reason=_text(_first(raw, 4)) or "",
            code=code if isinstance(code, int) else None,
        )
    elif kind in DISCOVERY_KINDS:
        pass  # no ObjectMeta or ListMeta to read
    elif kind is not None and kind.endswith("List"):
        summary["items"] = sum(1 for number, _ in fields(raw) if number == 2)
        list_meta = _first(raw, 1)
        if isinstance(list_meta, bytes) and _text(_first(list_meta, 3)):
            summary["continue"] = "<continue>"
    else:
        metadata = _first(raw, 1)
        if isinstance(metadata, bytes):
            summary["name"] = _text(_first(metadata, 1))
    return summary


def watch_frames(stream: bytes) -> Iterator[tuple[str, str | None, str | None]]:
    """(type, object kind, object name) per 4-byte-length-prefixed WatchEvent frame."""
    pos = 0
    while pos + 4 <= len(stream):
        (length,) = struct.unpack("!I", stream[pos : pos + 4])
        frame = stream[pos + 4 : pos + 4 + length]
        pos += 4 + length
        if frame.startswith(MAGIC):
            frame = unwrap(frame)[2]
        event_type = _text(_first(frame, 1)) or ""
        extension = _first(frame, 2)
        raw = _first(extension, 1) if isinstance(extension, bytes) else None
        kind = name = None
        if isinstance(raw, bytes):
            _, kind, obj = unwrap(raw)
            metadata = _first(obj, 1)
            if isinstance(metadata, bytes):
                name = _text(_first(metadata, 1))
        yield event_type, kind, name
