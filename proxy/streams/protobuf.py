"""The protobuf wire format, as much as Kubernetes' envelopes need: varints and fields.

The reader and the writer side by side, used by the watch codecs (WatchEvent, Status).
Not a general protobuf library. The fake API server has its own reader on purpose
(`proxy.testing.protobuf`): a bug shared by the proxy and its fake would go unseen.
"""

from __future__ import annotations

from collections.abc import Iterator

Field = tuple[int, int, int | bytes]  # (field number, wire type, value)
VARINT = 0
LENGTH_DELIMITED = 2


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
        if wire == VARINT:
            value, pos = read_varint(data, pos)
            yield number, wire, value
        elif wire == LENGTH_DELIMITED:
            length, pos = read_varint(data, pos)
            if pos + length > len(data):
                raise ValueError("truncated field")
            yield number, wire, data[pos : pos + length]
            pos += length
        elif wire in (1, 5):
            pos += 8 if wire == 1 else 4
        else:
            raise ValueError(f"unsupported wire type {wire}")


def length_delimited_fields(data: bytes) -> dict[int, bytes]:
    """Length-delimited fields by number (the last one wins, as protobuf says)."""
    return {n: v for n, w, v in iter_fields(data) if w == LENGTH_DELIMITED and isinstance(v, bytes)}


def encode_varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def varint_field(number: int, value: int) -> bytes:
    return encode_varint(number << 3 | VARINT) + encode_varint(value)


def bytes_field(number: int, value: bytes) -> bytes:
    return encode_varint(number << 3 | LENGTH_DELIMITED) + encode_varint(len(value)) + value
