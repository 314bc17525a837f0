"""The protobuf wire format, as much as Kubernetes' envelopes need: varints and fields.

Used by the watch stream codec (WatchEvent, Status) and by the fake API server
(request bodies kubectl sends as protobuf). Not a general protobuf library.
"""

from __future__ import annotations

from collections.abc import Iterator

Field = tuple[int, int, int | bytes]  # (field number, wire type, value)


def read_varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise ValueError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return result, pos


def iter_fields(data: bytes) -> Iterator[Field]:
    pos = 0
    while pos < len(data):
        key, pos = read_varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = read_varint(data, pos)
            yield number, wire, value
        elif wire == 2:
            length, pos = read_varint(data, pos)
            if pos + length > len(data):
                raise ValueError("truncated field")
            yield number, wire, data[pos : pos + length]
            pos += length
        elif wire in (1, 5):
            pos += 8 if wire == 1 else 4
        else:
            raise ValueError(f"unsupported wire type {wire}")
