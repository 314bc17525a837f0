"""Just enough of the Kubernetes protobuf encoding to read what kubectl's typed clients send
(`kubectl create configmap|namespace`): the `k8s\\0` envelope, ObjectMeta, ConfigMap data.
Responses stay JSON, which those clients accept."""

from __future__ import annotations

import base64

from proxy.streams.protobuf import iter_fields
from proxy.testing import status
from proxy.testing.status import JSONObject

MAGIC = b"k8s\x00"
def _map_entry(data: bytes) -> tuple[str, bytes]:
    key, value = "", b""
    for number, _, raw in iter_fields(data):
        if number == 1 and isinstance(raw, bytes):
            key = raw.decode()
        elif number == 2 and isinstance(raw, bytes):
            value = raw
    return key, value


def _object_meta(data: bytes) -> JSONObject:
    names = {1: "name", 2: "generateName", 3: "namespace", 6: "resourceVersion"}
    maps = {11: "labels", 12: "annotations"}
    meta: JSONObject = {}
    for number, _, raw in iter_fields(data):
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
        for number, _, value in iter_fields(body[len(MAGIC) :]):
            if number == 1 and isinstance(value, bytes):
                for sub, _, text in iter_fields(value):
                    if sub == 1 and isinstance(text, bytes):
                        api_version = text.decode()
                    elif sub == 2 and isinstance(text, bytes):
                        kind = text.decode()
            elif number == 2 and isinstance(value, bytes):
                raw = value
        obj: JSONObject = {"apiVersion": api_version, "kind": kind}
        for number, _, value in iter_fields(raw):
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
