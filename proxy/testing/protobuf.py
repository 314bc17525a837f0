"""Just enough of the Kubernetes protobuf encoding to read what kubectl's typed clients send
(`kubectl create configmap|namespace`): the `k8s\\0` envelope, ObjectMeta, ConfigMap data.
Responses stay JSON, which those clients accept."""

from __future__ import annotations

import base64
from collections.abc import Iterator

from proxy.testing import status
from proxy.testing.status import JSONObject

MAGIC = b"k8s\x00"
Field = tuple[int, int, int | bytes]  # (number, wire type, value)


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data):
            raise ValueError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return result, pos


def _fields(data: bytes) -> Iterator[Field]:
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
            yield number, wire, value
        elif wire == 2:
            length, pos = _varint(data, pos)
            yield number, wire, data[pos : pos + length]
            pos += length
        elif wire in (1, 5):
            pos += 8 if wire == 1 else 4
        else:
            raise ValueError(f"unsupported wire type {wire}")


def _map_entry(data: bytes) -> tuple[str, bytes]:
    key, value = "", b""
    for number, _, raw in _fields(data):
        if number == 1 and isinstance(raw, bytes):
            key = raw.decode()
        elif number == 2 and isinstance(raw, bytes):
            value = raw
    return key, value


def _object_meta(data: bytes) -> JSONObject:
    names = {1: "name", 2: "generateName", 3: "namespace", 6: "resourceVersion"}
    maps = {11: "labels", 12: "annotations"}
    meta: JSONObject = {}
    for number, _, raw in _fields(data):
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
        for number, _, value in _fields(body[len(MAGIC) :]):
            if number == 1 and isinstance(value, bytes):
                for sub, _, text in _fields(value):
                    if sub == 1 and isinstance(text, bytes):
                        api_version = text.decode()
                    elif sub == 2 and isinstance(text, bytes):
                        kind = text.decode()
            elif number == 2 and isinstance(value, bytes):
                raw = value
        obj: JSONObject = {"apiVersion": api_version, "kind": kind}
        for number, _, value in _fields(raw):
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
