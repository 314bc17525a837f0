"""The resource types the fake serves, described once for routing, discovery and OpenAPI."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from proxy.testing.status import JSONObject

STANDARD_VERBS: tuple[str, ...] = (
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
)


@dataclass(frozen=True)
class ResourceKind:
    """One REST resource of the core v1 group."""

    plural: str
    singular: str
    kind: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    verbs: tuple[str, ...] = STANDARD_VERBS
    subresources: tuple[str, ...] = ()
    # The generic registry returns a Status on delete unless the kind opts in (pods, namespaces).
    delete_returns_object: bool = False
    group: str = ""
    version: str = "v1"

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"

    def with_type_meta(self, obj: JSONObject) -> JSONObject:
        """The object as served alone, with kind and apiVersion first."""
        return {"kind": self.kind, "apiVersion": self.api_version, **without_type_meta(obj)}


def without_type_meta(obj: JSONObject) -> JSONObject:
    """The object as it appears among a typed list's items (no kind, no apiVersion)."""
    return {k: v for k, v in obj.items() if k not in ("kind", "apiVersion")}


NAMESPACES = ResourceKind(
    plural="namespaces",
    singular="namespace",
    kind="Namespace",
    namespaced=False,
    short_names=("ns",),
    verbs=("create", "delete", "get", "list", "patch", "update", "watch"),
    subresources=("finalize", "status"),
    delete_returns_object=True,
)
CONFIGMAPS = ResourceKind(
    plural="configmaps",
    singular="configmap",
    kind="ConfigMap",
    namespaced=True,
    short_names=("cm",),
)
PODS = ResourceKind(
    plural="pods",
    singular="pod",
    kind="Pod",
    namespaced=True,
    short_names=("po",),
    subresources=("exec", "log", "status"),
    delete_returns_object=True,
)

KINDS: Mapping[str, ResourceKind] = {k.plural: k for k in (NAMESPACES, CONFIGMAPS, PODS)}


def apply_defaults(kind: ResourceKind, obj: JSONObject) -> None:
    """Fill in what the apiserver's defaulting and strategies add on create."""
    metadata = obj["metadata"]
    if kind is NAMESPACES:
        labels = metadata.setdefault("labels", {})
        labels["kubernetes.io/metadata.name"] = metadata["name"]
        obj.setdefault("spec", {"finalizers": ["kubernetes"]})
        obj["status"] = {"phase": "Active"}
    elif kind is PODS:
        spec = obj.setdefault("spec", {})
        spec.setdefault("containers", [])
        spec.setdefault("restartPolicy", "Always")
        spec.setdefault("dnsPolicy", "ClusterFirst")
        spec.setdefault("schedulerName", "default-scheduler")
        spec.setdefault("terminationGracePeriodSeconds", 30)
        obj.setdefault("status", {"phase": "Pending", "qosClass": "BestEffort"})
