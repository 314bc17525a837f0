"""OpenAPI schemas of the served kinds and the meta types they use, shaped like the real ones
(references, list types, patch strategies, x-kubernetes-group-version-kind)."""

from __future__ import annotations

from proxy.testing.kinds import KINDS, ResourceKind
from proxy.testing.status import JSONObject

META = "io.k8s.apimachinery.pkg.apis.meta.v1"
CORE = "io.k8s.api.core.v1"


def definition_prefix(kind: ResourceKind) -> str:
    """io.k8s.api.core.v1 for the core group, io.k8s.api.GROUP.VERSION for the others."""
    return f"io.k8s.api.{kind.group or 'core'}.{kind.version}"


def ref(name: str) -> JSONObject:
    return {"$ref": f"#/definitions/{name}"}


def _string_map(description: str, *, fmt: str | None = None) -> JSONObject:
    item: JSONObject = {"type": "string"} if fmt is None else {"type": "string", "format": fmt}
    return {"description": description, "type": "object", "additionalProperties": item}


def gvk(kind: str, group: str = "", version: str = "v1") -> list[JSONObject]:
    return [{"group": group, "kind": kind, "version": version}]


def type_meta() -> JSONObject:
    return {
        "apiVersion": {"description": "APIVersion defines the versioned schema.", "type": "string"},
        "kind": {
            "description": "Kind is a string value representing the REST resource.",
            "type": "string",
        },
    }


def meta_definitions() -> dict[str, JSONObject]:
    string = {"type": "string"}
    return {
        f"{META}.Time": {
            "description": "Time is a wrapper around time.Time.",
            "type": "string",
            "format": "date-time",
        },
        f"{META}.FieldsV1": {"description": "FieldsV1 stores a set of fields.", "type": "object"},
        f"{META}.Patch": {
            "description": (
                "Patch is provided to give a concrete name and type to the Kubernetes PATCH "
                "request body."
            ),
            "type": "object",
        },
        f"{META}.OwnerReference": {
            "description": (
                "OwnerReference contains enough information to let you identify an owning object."
            ),
            "type": "object",
            "required": ["apiVersion", "kind", "name", "uid"],
            "properties": {
                "apiVersion": string,
                "kind": string,
                "name": string,
                "uid": string,
                "blockOwnerDeletion": {"type": "boolean"},
                "controller": {"type": "boolean"},
            },
            "x-kubernetes-map-type": "atomic",
        },
        f"{META}.ManagedFieldsEntry": {
            "description": (
                "ManagedFieldsEntry is a workflow-id, a FieldSet and the group version of "
                "the resource."
            ),
            "type": "object",
            "properties": {
                "apiVersion": string,
                "fieldsType": string,
                "fieldsV1": ref(f"{META}.FieldsV1"),
                "manager": string,
                "operation": string,
                "subresource": string,
                "time": ref(f"{META}.Time"),
            },
        },
        f"{META}.ObjectMeta": {
            "description": "ObjectMeta is metadata that all persisted resources must have.",
            "type": "object",
            "properties": {
                "annotations": _string_map("Annotations is an unstructured key value map."),
                "creationTimestamp": ref(f"{META}.Time"),
                "deletionGracePeriodSeconds": {"type": "integer", "format": "int64"},
                "deletionTimestamp": ref(f"{META}.Time"),
                "finalizers": {
                    "type": "array",
                    "items": string,
                    "x-kubernetes-list-type": "set",
                    "x-kubernetes-patch-strategy": "merge",
                },
                "generateName": string,
                "generation": {"type": "integer", "format": "int64"},
                "labels": _string_map(
                    "Map of string keys and values that can be used to organize objects."
                ),
                "managedFields": {
                    "type": "array",
                    "items": ref(f"{META}.ManagedFieldsEntry"),
                    "x-kubernetes-list-type": "atomic",
                },
                "name": string,
                "namespace": string,
                "ownerReferences": {
                    "type": "array",
                    "items": ref(f"{META}.OwnerReference"),
                    "x-kubernetes-list-map-keys": ["uid"],
                    "x-kubernetes-list-type": "map",
                    "x-kubernetes-patch-merge-key": "uid",
                    "x-kubernetes-patch-strategy": "merge",
                },
                "resourceVersion": string,
                "selfLink": string,
                "uid": string,
            },
        },
        f"{META}.ListMeta": {
            "description": "ListMeta describes metadata that synthetic resources must have.",
            "type": "object",
            "properties": {
                "continue": string,
                "remainingItemCount": {"type": "integer", "format": "int64"},
                "resourceVersion": string,
                "selfLink": string,
            },
        },
        f"{META}.StatusDetails": {
            "type": "object",
            "properties": {
                "group": string,
                "kind": string,
                "name": string,
                "uid": string,
                "retryAfterSeconds": {"type": "integer", "format": "int32"},
            },
        },
        f"{META}.Status": {
            "description": "Status is a return value for calls that don't return other objects.",
            "type": "object",
            "properties": {
                **type_meta(),
                "code": {"type": "integer", "format": "int32"},
                "details": ref(f"{META}.StatusDetails"),
                "message": string,
                "metadata": ref(f"{META}.ListMeta"),
                "reason": string,
                "status": string,
            },
            "x-kubernetes-group-version-kind": gvk("Status"),
        },
        f"{META}.WatchEvent": {
            "description": "Event represents a single event to a watched resource.",
            "type": "object",
            "required": ["type", "object"],
            "properties": {"object": {"type": "object"}, "type": string},
            "x-kubernetes-group-version-kind": gvk("WatchEvent"),
        },
        f"{META}.DeleteOptions": {
            "description": "DeleteOptions may be provided when deleting an API object.",
            "type": "object",
            "properties": {
                **type_meta(),
                "dryRun": {"type": "array", "items": string},
                "gracePeriodSeconds": {"type": "integer", "format": "int64"},
                "propagationPolicy": string,
            },
            "x-kubernetes-group-version-kind": gvk("DeleteOptions"),
        },
    }


def kind_definitions() -> dict[str, JSONObject]:
    string = {"type": "string"}
    bodies: dict[str, JSONObject] = {
        "ConfigMap": {
            "binaryData": _string_map("BinaryData contains the binary data.", fmt="byte"),
            "data": _string_map("Data contains the configuration data."),
            "immutable": {"type": "boolean"},
        },
        "Namespace": {
            "spec": ref(f"{CORE}.NamespaceSpec"),
            "status": ref(f"{CORE}.NamespaceStatus"),
        },
        "Pod": {"spec": ref(f"{CORE}.PodSpec"), "status": ref(f"{CORE}.PodStatus")},
    }
    definitions: dict[str, JSONObject] = {
        f"{CORE}.NamespaceSpec": {
            "type": "object",
            "properties": {
                "finalizers": {"type": "array", "items": string, "x-kubernetes-list-type": "atomic"}
            },
        },
        f"{CORE}.NamespaceStatus": {"type": "object", "properties": {"phase": string}},
        f"{CORE}.Container": {
            "type": "object",
            "required": ["name"],
            "properties": {
                "name": string,
                "image": string,
                "command": {"type": "array", "items": string},
                "args": {"type": "array", "items": string},
            },
        },
        f"{CORE}.PodSpec": {
            "type": "object",
            "required": ["containers"],
            "properties": {
                "containers": {
                    "type": "array",
                    "items": ref(f"{CORE}.Container"),
                    "x-kubernetes-list-map-keys": ["name"],
                    "x-kubernetes-list-type": "map",
                    "x-kubernetes-patch-merge-key": "name",
                    "x-kubernetes-patch-strategy": "merge",
                },
                "nodeName": string,
                "restartPolicy": string,
                "serviceAccountName": string,
            },
        },
        f"{CORE}.PodStatus": {
            "type": "object",
            "properties": {"phase": string, "podIP": string, "hostIP": string},
        },
    }
    generic = {"spec": {"type": "object"}, "status": {"type": "object"}}
    for kind in KINDS.values():
        prefix = definition_prefix(kind)
        definitions[f"{prefix}.{kind.kind}"] = {
            "description": f"{kind.kind} is served by the fake API server.",
            "type": "object",
            "properties": {
                **type_meta(),
                "metadata": ref(f"{META}.ObjectMeta"),
                **bodies.get(kind.kind, generic),
            },
            "x-kubernetes-group-version-kind": gvk(kind.kind, kind.group, kind.version),
        }
        definitions[f"{prefix}.{kind.list_kind}"] = {
            "description": f"{kind.list_kind} is a list of {kind.kind} objects.",
            "type": "object",
            "required": ["items"],
            "properties": {
                **type_meta(),
                "items": {"type": "array", "items": ref(f"{prefix}.{kind.kind}")},
                "metadata": ref(f"{META}.ListMeta"),
            },
            "x-kubernetes-group-version-kind": gvk(kind.list_kind, kind.group, kind.version),
        }
    return definitions
