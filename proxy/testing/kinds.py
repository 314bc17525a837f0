"""The resource types the fake serves, described once for routing, discovery and OpenAPI."""

from __future__ import annotations

import base64
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
    subresources=(
        "attach", "binding", "ephemeralcontainers", "eviction", "exec", "log", "portforward",
        "proxy", "status",
    ),
    delete_returns_object=True,
)
SERVICES = ResourceKind(
    plural="services",
    singular="service",
    kind="Service",
    namespaced=True,
    short_names=("svc",),
    verbs=("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"),
    subresources=("proxy", "status"),
    delete_returns_object=True,
)
ENDPOINTS = ResourceKind(
    plural="endpoints", singular="endpoints", kind="Endpoints", namespaced=True,
    short_names=("ep",),
)
SERVICEACCOUNTS = ResourceKind(
    plural="serviceaccounts",
    singular="serviceaccount",
    kind="ServiceAccount",
    namespaced=True,
    short_names=("sa",),
    subresources=("token",),
)
SECRETS = ResourceKind(plural="secrets", singular="secret", kind="Secret", namespaced=True)
NODES = ResourceKind(
    plural="nodes",
    singular="node",
    kind="Node",
    namespaced=False,
    short_names=("no",),
    subresources=("proxy", "status"),
)
DEPLOYMENTS = ResourceKind(
    plural="deployments",
    singular="deployment",
    kind="Deployment",
    namespaced=True,
    short_names=("deploy",),
    subresources=("scale", "status"),
    group="apps",
)

KINDS: Mapping[str, ResourceKind] = {
    k.plural: k
    for k in (
        NAMESPACES, CONFIGMAPS, PODS, SERVICES, ENDPOINTS, SERVICEACCOUNTS, SECRETS, NODES,
        DEPLOYMENTS,
    )
}


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
    elif kind is SERVICES:
        _service_defaults(obj)
    elif kind is DEPLOYMENTS:
        _deployment_defaults(obj)
    elif kind is SECRETS:
        _secret_defaults(obj)
    elif kind is NODES:
        obj.setdefault("spec", {})
        obj.setdefault("status", {"daemonEndpoints": {"kubeletEndpoint": {"Port": 0}},
                                  "nodeInfo": {}})


def _secret_defaults(obj: JSONObject) -> None:
    """stringData is write-only: merged into data (base64) on the way in; type Opaque."""
    string_data = obj.pop("stringData", None) or {}
    if string_data:
        data = obj.setdefault("data", {}) or {}
        for key, value in string_data.items():
            data[key] = base64.b64encode(str(value).encode()).decode()
        obj["data"] = data
    obj.setdefault("type", "Opaque")


_cluster_ips = iter(range(1, 65_000))


def _service_defaults(obj: JSONObject) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    if spec.get("clusterIP") != "None":
        number = next(_cluster_ips)
        spec.setdefault("clusterIP", f"10.96.{number // 254}.{number % 254 + 1}")
        spec.setdefault("clusterIPs", [spec["clusterIP"]])
    spec.setdefault("ipFamilies", ["IPv4"])
    spec.setdefault("ipFamilyPolicy", "SingleStack")
    spec.setdefault("internalTrafficPolicy", "Cluster")
    for port in spec.get("ports") or ():
        port.setdefault("protocol", "TCP")
        port.setdefault("targetPort", port.get("port"))
    obj.setdefault("status", {"loadBalancer": {}})


def _deployment_defaults(obj: JSONObject) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("progressDeadlineSeconds", 600)
    spec.setdefault(
        "strategy",
        {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}},
    )
    obj["metadata"].setdefault("generation", 1)
    obj.setdefault("status", {})
