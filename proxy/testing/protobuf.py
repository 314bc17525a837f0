"""Just enough of the Kubernetes protobuf encoding to read what kubectl's typed clients send
(`kubectl create configmap|namespace`): the `k8s\\0` envelope, ObjectMeta, ConfigMap data.
Responses stay JSON, which those clients accept.

The wire reader is the fake's own, written apart from the proxy's (`proxy.streams.protobuf`):
were they shared, a bug in it would pass every test that puts the two face to face.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator

from proxy.testing import status
from proxy.testing.status import JSONObject

MAGIC = b"k8s\x00"
_FIXED_WIDTH = {1: 8, 5: 4}  # wire type -> bytes (fixed64, fixed32): skipped
_LONGEST_VARINT = 10


class _Cursor:
    """A position in a message; every read checks that the bytes are there."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.offset = 0

    def at_end(self) -> bool:
        return self.offset >= len(self.data)

    def varint(self) -> int:
        value = 0
        for index in range(_LONGEST_VARINT):
            if self.at_end():
                break
            byte = self.data[self.offset]
            self.offset += 1
            value |= (byte & 0x7F) << (7 * index)
            if byte < 0x80:
                return value
        raise ValueError("truncated varint")

    def take(self, size: int) -> bytes:
        if self.offset + size > len(self.data):
            raise ValueError("truncated field")
        chunk = self.data[self.offset : self.offset + size]
        self.offset += size
        return chunk


def iter_fields(data: bytes) -> Iterator[tuple[int, int | bytes]]:
    """(field number, value) of a message's varint and length-delimited fields, in order."""
    cursor = _Cursor(data)
    while not cursor.at_end():
        key = cursor.varint()
        number, wire = key >> 3, key & 7
        if wire == 0:
            yield number, cursor.varint()
        elif wire == 2:
            yield number, cursor.take(cursor.varint())
        elif wire in _FIXED_WIDTH:
            cursor.take(_FIXED_WIDTH[wire])
        else:
            raise ValueError(f"unsupported wire type {wire}")
def _map_entry(data: bytes) -> tuple[str, bytes]:
    key, value = "", b""
    for number, raw in iter_fields(data):
        if number == 1 and isinstance(raw, bytes):
            key = raw.decode()
        elif number == 2 and isinstance(raw, bytes):
            value = raw
    return key, value


def _object_meta(data: bytes) -> JSONObject:
    names = {1: "name", 2: "generateName", 3: "namespace", 6: "resourceVersion"}
    maps = {11: "labels", 12: "annotations"}
    meta: JSONObject = {}
    for number, raw in iter_fields(data):
        if not isinstance(raw, bytes):
            continue
        if number in names:
            meta[names[number]] = raw.decode()
        elif number in maps:
            key, value = _map_entry(raw)
            meta.setdefault(maps[number], {})[key] = value.decode()
        elif number == 14:
            meta.setdefault("finalizers", []).append(raw.decode())
    return meta


def decode_object(body: bytes) -> JSONObject:
    """A ConfigMap, Namespace or other object's metadata from a protobuf request body."""
    if not body.startswith(MAGIC):
        raise status.bad_request("protobuf body without the k8s envelope")
    try:
        api_version, kind, raw = "", "", b""
        for number, value in iter_fields(body[len(MAGIC) :]):
            if number == 1 and isinstance(value, bytes):
                for sub, text in iter_fields(value):
                    if sub == 1 and isinstance(text, bytes):
                        api_version = text.decode()
                    elif sub == 2 and isinstance(text, bytes):
                        kind = text.decode()
            elif number == 2 and isinstance(value, bytes):
                raw = value
        obj: JSONObject = {"apiVersion": api_version, "kind": kind}
        for number, value in iter_fields(raw):
            if number == 1 and isinstance(value, bytes):
                obj["metadata"] = _object_meta(value)
            elif kind == "ConfigMap" and number in (2, 3) and isinstance(value, bytes):
                key, data = _map_entry(value)
                if number == 2:
                    obj.setdefault("data", {})[key] = data.decode()
                else:
                    obj.setdefault("binaryData", {})[key] = base64.b64encode(data).decode()
            elif kind == "ConfigMap" and number == 4:
                obj["immutable"] = bool(value)
        return obj
    except (ValueError, UnicodeDecodeError) as error:
        raise status.bad_request(f"unable to decode protobuf body: {error}") from error
