"""Server-side printing: the `meta.k8s.io` Table that `kubectl get` asks for."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from proxy.testing.kinds import ResourceKind
from proxy.testing.status import JSONObject

Cell = Callable[[JSONObject, datetime.datetime], Any]

_NAME_DESCRIPTION = (
    "Name must be unique within a namespace. Is required when creating resources, although "
    "some resources may allow a client to request the generation of an appropriate name "
    "automatically. Name is primarily intended for creation idempotence and configuration "
    "definition. Cannot be updated. More info: "
    "https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names"
)
_AGE_DESCRIPTION = (
    "CreationTimestamp is a timestamp representing the server time when this object was "
    "created. It is not guaranteed to be set in happens-before order across separate "
    "operations. Clients may not set this value. It is represented in RFC3339 form and is "
    "in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"
)


def human_duration(seconds: float) -> str:
    """k8s.io/apimachinery/pkg/util/duration.HumanDuration."""
    if seconds < -1:
        return "<invalid>"
    s = max(int(seconds), 0)
    minutes, hours = s // 60, s // 3600
    if s < 120:
        return f"{s}s"
    if minutes < 10:
        return f"{minutes}m{s % 60}s" if s % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{hours // 24}d{hours % 24}h" if hours % 24 else f"{hours // 24}d"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        return f"{hours // 8760}y{(hours % 8760) // 24}d"
    return f"{hours // 8760}y"


def _age(obj: JSONObject, now: datetime.datetime) -> str:
    created = obj.get("metadata", {}).get("creationTimestamp")
    if not created:
        return "<unknown>"
    moment = datetime.datetime.strptime(created, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.UTC)
    return human_duration((now - moment).total_seconds())


def _name(obj: JSONObject, now: datetime.datetime) -> str:
    return str(obj.get("metadata", {}).get("name", ""))


def _pod_ready(obj: JSONObject, now: datetime.datetime) -> str:
    statuses = obj.get("status", {}).get("containerStatuses") or []
    ready = sum(1 for s in statuses if s.get("ready"))
    return f"{ready}/{len(obj.get('spec', {}).get('containers') or [])}"


def _column(name: str, type_: str, description: str, *, priority: int = 0) -> JSONObject:
    return {
        "name": name,
        "type": type_,
        "format": "name" if name == "Name" else "",
        "description": description,
        "priority": priority,
    }


_COLUMNS: Mapping[str, Sequence[tuple[JSONObject, Cell]]] = {
    "configmaps": (
        (_column("Name", "string", _NAME_DESCRIPTION), _name),
        (
            _column("Data", "string", "Data contains the configuration data."),
            lambda o, _: len(o.get("data") or {}) + len(o.get("binaryData") or {}),
        ),
        (_column("Age", "string", _AGE_DESCRIPTION), _age),
    ),
    "namespaces": (
        (_column("Name", "string", _NAME_DESCRIPTION), _name),
        (
            _column("Status", "string", "The status of the namespace"),
            lambda o, _: o.get("status", {}).get("phase", ""),
        ),
        (_column("Age", "string", _AGE_DESCRIPTION), _age),
    ),
    "pods": (
        (_column("Name", "string", _NAME_DESCRIPTION), _name),
        (
            _column("Ready", "string", "The aggregate readiness state of this pod"),
            _pod_ready,
        ),
        (
            _column("Status", "string", "The aggregate status of the containers in this pod."),
            lambda o, _: o.get("status", {}).get("phase", ""),
        ),
        (
            _column("Restarts", "string", "The number of times the containers have restarted."),
            lambda o, _: "0",
        ),
        (_column("Age", "string", _AGE_DESCRIPTION), _age),
        (
            _column("IP", "string", "IP address allocated to the pod.", priority=1),
            lambda o, _: o.get("status", {}).get("podIP") or "<none>",
        ),
        (
            _column("Node", "string", "Node the pod is scheduled to.", priority=1),
            lambda o, _: o.get("spec", {}).get("nodeName") or "<none>",
        ),
    ),
}


# Kinds without their own printer here: name and age, as the default table printer.
_DEFAULT_COLUMNS: Sequence[tuple[JSONObject, Cell]] = (
    (_column("Name", "string", _NAME_DESCRIPTION), _name),
    (_column("Age", "string", _AGE_DESCRIPTION), _age),
)


def _row_object(kind: ResourceKind, obj: JSONObject, include_object: str, api_version: str) -> Any:
    if include_object == "Object":
        return kind.with_type_meta(obj)
    if include_object == "None":
        return None
    return {
        "kind": "PartialObjectMetadata",
        "apiVersion": api_version,
        "metadata": obj.get("metadata", {}),
    }


def to_table(
    kind: ResourceKind,
    objects: Sequence[JSONObject],
    *,
    list_metadata: JSONObject,
    now: datetime.datetime,
    include_object: str = "Metadata",
    api_version: str = "meta.k8s.io/v1",
    with_headers: bool = True,
) -> JSONObject:
    """A Table of `objects`; watch events after the first carry no column definitions."""
    columns = _COLUMNS.get(kind.plural, _DEFAULT_COLUMNS)
    return {
        "kind": "Table",
        "apiVersion": api_version,
        "metadata": list_metadata,
        "columnDefinitions": [c for c, _ in columns] if with_headers else None,
        "rows": [
            {
                "cells": [cell(obj, now) for _, cell in columns],
                "object": _row_object(kind, obj, include_object, api_version),
            }
            for obj in objects
        ],
    }
