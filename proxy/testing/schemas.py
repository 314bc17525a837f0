"""The Go types behind the JSON: enough of each kind's schema to decode as the apiserver does.

Decoding a body into a typed Go struct fails on a wrong JSON type ("json: cannot
unmarshal number into Go struct field ConfigMap.data of type string", a 400) and
reports unknown and duplicated fields (warnings, or a 400 under fieldValidation=Strict).
Fields a schema leaves open (`ANY`) accept everything: the fake checks the kinds it
serves in depth and the rest at the top level only.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from proxy.testing.kinds import (
    CONFIGMAPS,
    NAMESPACES,
    SECRETS,
    SERVICEACCOUNTS,
    ResourceKind,
)


@dataclass(frozen=True)
class Scalar:
    go_type: str  # string, bool, int32, int64, []uint8 (base64 in JSON)


@dataclass(frozen=True)
class MapOf:
    value: Node

    @property
    def go_type(self) -> str:
        return f"map[string]{self.value.go_type}"


@dataclass(frozen=True)
class ListOf:
    item: Node

    @property
    def go_type(self) -> str:
        return f"[]{self.item.go_type}"


@dataclass(frozen=True)
class Struct:
    go_name: str  # as Go prints the type: v1.ObjectMeta
    fields: Mapping[str, Node] = field(default_factory=dict)

    @property
    def go_type(self) -> str:
        return self.go_name


@dataclass(frozen=True)
class Any_:
    go_type: str = "interface {}"


Node = Scalar | MapOf | ListOf | Struct | Any_

STRING, BOOL, INT32, INT64 = Scalar("string"), Scalar("bool"), Scalar("int32"), Scalar("int64")
BYTES = Scalar("[]uint8")
ANY = Any_()

OBJECT_META = Struct("v1.ObjectMeta", {
    "name": STRING, "generateName": STRING, "namespace": STRING, "selfLink": STRING,
    "uid": STRING, "resourceVersion": STRING, "generation": INT64,
    "creationTimestamp": ANY, "deletionTimestamp": ANY, "deletionGracePeriodSeconds": INT64,
    "labels": MapOf(STRING), "annotations": MapOf(STRING), "ownerReferences": ListOf(ANY),
    "finalizers": ListOf(STRING), "managedFields": ListOf(ANY),
})


def _kind_schema(go_name: str, **fields: Node) -> Struct:
    return Struct(go_name, {"apiVersion": STRING, "kind": STRING, "metadata": OBJECT_META,
                            **fields})


_SCHEMAS: Mapping[str, Struct] = {
    CONFIGMAPS.plural: _kind_schema(
        "v1.ConfigMap", data=MapOf(STRING), binaryData=MapOf(BYTES), immutable=BOOL
    ),
    SECRETS.plural: _kind_schema(
        "v1.Secret", data=MapOf(BYTES), stringData=MapOf(STRING), type=STRING, immutable=BOOL
    ),
    NAMESPACES.plural: _kind_schema(
        "v1.Namespace",
        spec=Struct("v1.NamespaceSpec", {"finalizers": ListOf(STRING)}),
        status=ANY,
    ),
    SERVICEACCOUNTS.plural: _kind_schema(
        "v1.ServiceAccount", secrets=ListOf(ANY), imagePullSecrets=ListOf(ANY),
        automountServiceAccountToken=BOOL,
    ),
}


def schema_for(kind: ResourceKind) -> Struct:
    """The kind's schema; spec, status and the like stay open for kinds not described."""
    known = _SCHEMAS.get(kind.plural)
    if known is not None:
        return known
    return _kind_schema(f"v1.{kind.kind}", spec=ANY, status=ANY, subsets=ANY, data=ANY)


class TypeMismatch(Exception):
    """What Go's json.Unmarshal reports for a value of the wrong JSON type."""


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


_BASE64 = re.compile(r"[A-Za-z0-9+/]")


def _base64_error(text: str) -> str | None:
    """Go's base64.StdEncoding error ("illegal base64 data at input byte N"), if any."""
    try:
        base64.b64decode(text, validate=True)
        return None
    except (binascii.Error, ValueError):
        pass
    for index, char in enumerate(text):
        if char in "\r\n":
            continue
        if char == "=":
            return f"illegal base64 data at input byte {index}"
        if not _BASE64.fullmatch(char):
            return f"illegal base64 data at input byte {index}"
    return f"illegal base64 data at input byte {len(text) - len(text) % 4}"


def _scalar_ok(node: Scalar, value: Any) -> bool:
    if node is BOOL:
        return isinstance(value, bool)
    if node in (INT32, INT64):
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, str)


@dataclass
class Findings:
    """Unknown fields (dotted paths) found while checking a document against its schema."""

    unknown: list[str] = field(default_factory=list)


def check(
    node: Node, value: Any, *, path: str, struct: str, findings: Findings
) -> None:
    """Raise TypeMismatch as Go would; note unknown fields in `findings`."""
    if value is None or isinstance(node, Any_):
        return
    if isinstance(node, Scalar):
        if not _scalar_ok(node, value):
            raise TypeMismatch(
                f"json: cannot unmarshal {_json_type(value)} into Go struct field "
                f"{struct}.{path} of type {node.go_type}"
            )
        if node is BYTES and (error := _base64_error(value)):
            raise TypeMismatch(error)
        return
    if isinstance(node, MapOf | Struct) and not isinstance(value, dict):
        go_type = node.go_type
        raise TypeMismatch(f"json: cannot unmarshal {_json_type(value)} into Go struct field "
                           f"{struct}.{path} of type {go_type}")
    if isinstance(node, ListOf):
        if not isinstance(value, list):
            raise TypeMismatch(f"json: cannot unmarshal {_json_type(value)} into Go struct "
                               f"field {struct}.{path} of type {node.go_type}")
        for item in value:
            check(node.item, item, path=path, struct=struct, findings=findings)
        return
    if isinstance(node, MapOf):
        for item in value.values():
            check(node.value, item, path=path, struct=struct, findings=findings)
        return
    assert isinstance(node, Struct)
    short = node.go_name.rsplit(".", 1)[-1]
    for key, item in value.items():
        child_path = f"{path}.{key}" if path else key
        child = node.fields.get(key)
        if child is None:
            findings.unknown.append(child_path)
            continue
        check(child, item, path=child_path, struct=short, findings=findings)
