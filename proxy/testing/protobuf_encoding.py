"""Writing Kubernetes protobuf: the `k8s\\0` envelope (runtime.Unknown), ObjectMeta, ConfigMap,
Namespace, Status, lists, WatchEvent and the discovery documents.

Field numbers are those of k8s.io/api and apimachinery's generated.proto. Kinds without a
schema here are written with their metadata only: enough for a client that reads the
envelope, the names and the resourceVersions.
"""

from __future__ import annotations

import base64
import datetime
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from proxy.testing.status import JSONObject

MAGIC = b"k8s\x00"
PROTOBUF = "application/vnd.kubernetes.protobuf"
PROTOBUF_WATCH = "application/vnd.kubernetes.protobuf;stream=watch"


def varint(value: int) -> bytes:
    value &= (1 << 64) - 1  # negative int64s as Go writes them: ten bytes
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def length_delimited(number: int, payload: bytes) -> bytes:
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def string(number: int, value: str | None) -> bytes:
    """Proto2 optional string, as gogo-protobuf writes it: present even when empty."""
    if value is None:
        return b""
    return length_delimited(number, value.encode())


def integer(number: int, value: int | bool | None) -> bytes:
    if value is None:
        return b""
    return varint(number << 3) + varint(int(value))


def string_map(number: int, values: Mapping[str, str] | None) -> bytes:
    """map<string,string>: one entry message per key, keys sorted as Go's marshaller does."""
    entries = values or {}
    return b"".join(
        length_delimited(number, string(1, key) + string(2, str(entries[key])))
        for key in sorted(entries)
    )


def _time(number: int, text: str | None) -> bytes:
    if not text:
        return b""
    moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return length_delimited(number, integer(1, int(moment.timestamp())) + integer(2, 0))


def object_meta(meta: JSONObject) -> bytes:
    return b"".join(
        (
            string(1, meta.get("name")),
            string(2, meta.get("generateName")),
            string(3, meta.get("namespace")),
            string(5, meta.get("uid")),
            string(6, meta.get("resourceVersion")),
            integer(7, meta.get("generation")),
            _time(8, meta.get("creationTimestamp")),
            _time(9, meta.get("deletionTimestamp")),
            string_map(11, meta.get("labels")),
            string_map(12, meta.get("annotations")),
            b"".join(string(14, f) for f in meta.get("finalizers") or ()),
        )
    )


def list_meta(meta: JSONObject) -> bytes:
    return b"".join(
        (
            string(2, meta.get("resourceVersion")),
            string(3, meta.get("continue")),
            integer(4, meta.get("remainingItemCount")),
        )
    )


def _config_map(obj: JSONObject) -> bytes:
    binary = b"".join(
        length_delimited(3, string(1, key) + length_delimited(2, _b64decode(value)))
        for key, value in sorted((obj.get("binaryData") or {}).items())
    )
    return b"".join(
        (
            length_delimited(1, object_meta(obj.get("metadata") or {})),
            string_map(2, obj.get("data")),
            binary,
            integer(4, obj.get("immutable")),
        )
    )


def _namespace(obj: JSONObject) -> bytes:
    spec = b"".join(string(1, f) for f in (obj.get("spec") or {}).get("finalizers") or ())
    phase = (obj.get("status") or {}).get("phase")
    return b"".join(
        (
            length_delimited(1, object_meta(obj.get("metadata") or {})),
            length_delimited(2, spec),
            length_delimited(3, string(1, phase)),
        )
    )


def _status(obj: JSONObject) -> bytes:
    details = obj.get("details")
    encoded_details = b""
    if details is not None:
        causes = b"".join(
            length_delimited(
                4,
                string(1, c.get("reason")) + string(2, c.get("message"))
                + string(3, c.get("field")),
            )
            for c in details.get("causes") or ()
        )
        encoded_details = length_delimited(
            5,
            string(1, details.get("name", ""))
            + string(2, details.get("group", ""))
            + string(3, details.get("kind", ""))
            + causes
            + integer(5, details.get("retryAfterSeconds", 0))
            + string(6, details.get("uid", "")),
        )
    return b"".join(
        (
            length_delimited(1, list_meta(obj.get("metadata") or {})),
            string(2, obj.get("status", "")),
            string(3, obj.get("message", "")),
            string(4, obj.get("reason", "")),
            encoded_details,
            integer(6, obj.get("code", 0)),
        )
    )


def _metadata_only(obj: JSONObject) -> bytes:
    return length_delimited(1, object_meta(obj.get("metadata") or {}))


def _secret(obj: JSONObject) -> bytes:
    data = b"".join(
        length_delimited(2, string(1, key) + length_delimited(2, _b64decode(value)))
        for key, value in sorted((obj.get("data") or {}).items())
    )
    return b"".join(
        (
            length_delimited(1, object_meta(obj.get("metadata") or {})),
            data,
            string(3, obj.get("type")),
            string_map(4, obj.get("stringData")),
            integer(5, obj.get("immutable")),
        )
    )


_ENCODERS: dict[str, Callable[[JSONObject], bytes]] = {
    "ConfigMap": _config_map,
    "Namespace": _namespace,
    "Secret": _secret,
    "Status": _status,
}
# Kinds written completely; the others would lose their spec and status in protobuf.
COMPLETE_KINDS = frozenset(_ENCODERS)


def _b64decode(value: str) -> bytes:
    return base64.b64decode(value)


def encode_message(obj: JSONObject, *, kind: str) -> bytes:
    """The object's own message (no envelope)."""
    return _ENCODERS.get(kind, _metadata_only)(obj)


def envelope(api_version: str, kind: str, raw: bytes) -> bytes:
    """`k8s\\0` + runtime.Unknown{TypeMeta, Raw}: what every protobuf body starts with."""
    type_meta = string(1, api_version) + string(2, kind)
    unknown = length_delimited(1, type_meta) + length_delimited(2, raw)
    return MAGIC + unknown + string(3, "") + string(4, "")


def encode_object(obj: JSONObject, *, api_version: str, kind: str) -> bytes:
    return envelope(api_version, kind, encode_message(obj, kind=kind))


def encode_list(
    items: Iterable[JSONObject], *, metadata: JSONObject, api_version: str, item_kind: str
) -> bytes:
    raw = length_delimited(1, list_meta(metadata)) + b"".join(
        length_delimited(2, encode_message(item, kind=item_kind)) for item in items
    )
    return envelope(api_version, f"{item_kind}List", raw)


def watch_event(event_type: str, encoded_object: bytes) -> bytes:
    """One frame of a protobuf watch: 4-byte big-endian length, then the WatchEvent."""
    message = string(1, event_type) + length_delimited(2, length_delimited(1, encoded_object))
    return len(message).to_bytes(4, "big") + message


def _group_version(entry: Mapping[str, Any]) -> bytes:
    return string(1, entry["groupVersion"]) + string(2, entry["version"])


def _group(entry: JSONObject) -> bytes:
    return (
        string(1, entry["name"])
        + b"".join(length_delimited(2, _group_version(v)) for v in entry["versions"])
        + length_delimited(3, _group_version(entry["preferredVersion"]))
    )


def encode_group_list(groups: Iterable[JSONObject]) -> bytes:
    """meta/v1 APIGroupList (discovery /apis)."""
    raw = b"".join(length_delimited(1, _group(g)) for g in groups)
    return envelope("v1", "APIGroupList", raw)


def encode_discovery(document: JSONObject) -> bytes:
    """meta/v1 APIVersions, APIGroup or APIResourceList, by the document's kind."""
    kind = document["kind"]
    if kind == "APIGroupList":
        return encode_group_list(document["groups"])
    if kind == "APIGroup":
        return envelope("v1", kind, _group(document))
    if kind == "APIVersions":
        addresses = b"".join(
            length_delimited(2, string(1, a["clientCIDR"]) + string(2, a["serverAddress"]))
            for a in document.get("serverAddressByClientCIDRs") or ()
        )
        raw = b"".join(string(1, v) for v in document["versions"]) + addresses
        return envelope("v1", kind, raw)
    resources = b"".join(
        length_delimited(
            2,
            string(1, r["name"])
            + integer(2, r["namespaced"])
            + string(3, r["kind"])
            + length_delimited(4, b"".join(string(1, v) for v in r["verbs"]))
            + b"".join(string(5, n) for n in r.get("shortNames") or ())
            + string(6, r["singularName"]),
        )
        for r in document["resources"]
    )
    return envelope("v1", kind, string(1, document["groupVersion"]) + resources)
