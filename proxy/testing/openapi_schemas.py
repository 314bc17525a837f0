"""Deterministic OpenAPI content: real-shaped schemas for the served kinds, REST paths for
them, and generated filler definitions that give /openapi/v2 a real document's size."""

from __future__ import annotations

import random
from typing import Any

from proxy.testing.kinds import KINDS, ResourceKind
from proxy.testing.status import JSONObject

META = "io.k8s.apimachinery.pkg.apis.meta.v1"
CORE = "io.k8s.api.core.v1"
FILLER_GROUPS = 24
FILLER_KINDS_PER_GROUP = 9
FILLER_PROPERTIES = 14
_WORDS = (
    "the object controller field value resource spec status replica selector label "
    "annotation container volume mount port protocol service endpoint node pod namespace "
    "policy rule subject role binding token secret config map key path scheme host "
    "address condition reason message time generation observed desired current ready "
    "available updated strategy rolling surge unavailable template affinity toleration "
    "taint priority preemption quota limit request memory cpu storage class claim "
    "capacity access mode phase reclaim bound pending running succeeded failed unknown "
    "must may should is defined when specified defaults to if omitted, more info"
).split()


def ref(name: str) -> JSONObject:
    return {"$ref": f"#/definitions/{name}"}


def _string_map(description: str, *, fmt: str | None = None) -> JSONObject:
    item: JSONObject = {"type": "string"} if fmt is None else {"type": "string", "format": fmt}
    return {"description": description, "type": "object", "additionalProperties": item}


def _gvk(kind: str, group: str = "", version: str = "v1") -> list[JSONObject]:
    return [{"group": group, "kind": kind, "version": version}]


def _type_meta() -> JSONObject:
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
            "description": "Patch is provided to give a concrete name and type to the Kubernetes PATCH request body.",
            "type": "object",
        },
        f"{META}.OwnerReference": {
            "description": "OwnerReference contains enough information to let you identify an owning object.",
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
            "description": "ManagedFieldsEntry is a workflow-id, a FieldSet and the group version of the resource.",
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
                **_type_meta(),
                "code": {"type": "integer", "format": "int32"},
                "details": ref(f"{META}.StatusDetails"),
                "message": string,
                "metadata": ref(f"{META}.ListMeta"),
                "reason": string,
                "status": string,
            },
            "x-kubernetes-group-version-kind": _gvk("Status"),
        },
        f"{META}.WatchEvent": {
            "description": "Event represents a single event to a watched resource.",
            "type": "object",
            "required": ["type", "object"],
            "properties": {"object": {"type": "object"}, "type": string},
            "x-kubernetes-group-version-kind": _gvk("WatchEvent"),
        },
        f"{META}.DeleteOptions": {
            "description": "DeleteOptions may be provided when deleting an API object.",
            "type": "object",
            "properties": {
                **_type_meta(),
                "dryRun": {"type": "array", "items": string},
                "gracePeriodSeconds": {"type": "integer", "format": "int64"},
                "propagationPolicy": string,
            },
            "x-kubernetes-group-version-kind": _gvk("DeleteOptions"),
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
    for kind in KINDS.values():
        definitions[f"{CORE}.{kind.kind}"] = {
            "description": f"{kind.kind} is served by the fake API server.",
            "type": "object",
            "properties": {
                **_type_meta(),
                "metadata": ref(f"{META}.ObjectMeta"),
                **bodies[kind.kind],
            },
            "x-kubernetes-group-version-kind": _gvk(kind.kind),
        }
        definitions[f"{CORE}.{kind.list_kind}"] = {
            "description": f"{kind.list_kind} is a list of {kind.kind} objects.",
            "type": "object",
            "required": ["items"],
            "properties": {
                **_type_meta(),
                "items": {"type": "array", "items": ref(f"{CORE}.{kind.kind}")},
                "metadata": ref(f"{META}.ListMeta"),
            },
            "x-kubernetes-group-version-kind": _gvk(kind.list_kind),
        }
    return definitions


def _param(
    name: str, *, location: str = "query", type_: str = "string", description: str = ""
) -> JSONObject:
    param: JSONObject = {"name": name, "in": location, "type": type_, "uniqueItems": True}
    if description:
        param["description"] = description
    if location == "path":
        param["required"] = True
    return param


_WRITE_PARAMS = [
    _param(
        "dryRun", description="When present, indicates that modifications should not be persisted."
    ),
    _param(
        "fieldManager",
        description="fieldManager is a name associated with the actor or entity that is making these changes.",
    ),
    _param(
        "fieldValidation",
        description="fieldValidation instructs the server on how to handle objects in the request containing unknown or duplicate fields.",
    ),
]
_LIST_PARAMS = [
    _param(name, type_=type_)
    for name, type_ in (
        ("allowWatchBookmarks", "boolean"),
        ("continue", "string"),
        ("fieldSelector", "string"),
        ("labelSelector", "string"),
        ("limit", "integer"),
        ("resourceVersion", "string"),
        ("timeoutSeconds", "integer"),
        ("watch", "boolean"),
    )
]
PATCH_TYPES = [
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
    "application/apply-patch+yaml",
]


def _operation(
    kind: ResourceKind,
    action: str,
    op_id: str,
    response: str,
    *,
    params: list[JSONObject] | None = None,
    body: str | None = None,
) -> JSONObject:
    operation: JSONObject = {
        "description": f"{action} {kind.kind}",
        "consumes": PATCH_TYPES if action == "patch" else ["*/*"],
        "produces": ["application/json", "application/yaml", "application/vnd.kubernetes.protobuf"],
        "schemes": ["https"],
        "tags": ["core_v1"],
        "operationId": op_id,
        "parameters": list(params or []),
        "responses": {
            "200": {"description": "OK", "schema": ref(response)},
            "401": {"description": "Unauthorized"},
        },
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": {
            "group": kind.group,
            "kind": kind.kind,
            "version": kind.version,
        },
    }
    if body is not None:
        operation["parameters"].insert(
            0, {"name": "body", "in": "body", "required": True, "schema": ref(body)}
        )
    return operation


def resource_paths(kind: ResourceKind) -> dict[str, JSONObject]:
    """The REST paths of one resource, as the apiserver publishes them."""
    obj, lst = f"{CORE}.{kind.kind}", f"{CORE}.{kind.list_kind}"
    scope = "Namespaced" if kind.namespaced else ""
    prefix = "/api/v1/namespaces/{namespace}" if kind.namespaced else "/api/v1"
    common = [_param("pretty", description="If 'true', then the output is pretty printed.")]
    scope_params = [_param("namespace", location="path")] if kind.namespaced else []
    name_params = [_param("name", location="path"), *scope_params, *common]
    paths: dict[str, JSONObject] = {
        f"{prefix}/{kind.plural}": {
            "get": _operation(
                kind, "list", f"listCoreV1{scope}{kind.kind}", lst, params=_LIST_PARAMS
            ),
            "post": _operation(
                kind, "post", f"createCoreV1{scope}{kind.kind}", obj, params=_WRITE_PARAMS, body=obj
            ),
            "parameters": [*scope_params, *common],
        },
        f"{prefix}/{kind.plural}/{{name}}": {
            "get": _operation(kind, "get", f"readCoreV1{scope}{kind.kind}", obj),
            "put": _operation(
                kind, "put", f"replaceCoreV1{scope}{kind.kind}", obj, params=_WRITE_PARAMS, body=obj
            ),
            "patch": _operation(
                kind,
                "patch",
                f"patchCoreV1{scope}{kind.kind}",
                obj,
                params=[*_WRITE_PARAMS, _param("force", type_="boolean")],
                body=f"{META}.Patch",
            ),
            "delete": _operation(
                kind,
                "delete",
                f"deleteCoreV1{scope}{kind.kind}",
                f"{META}.Status",
                params=[_param("dryRun")],
                body=f"{META}.DeleteOptions",
            ),
            "parameters": name_params,
        },
        f"/api/v1/watch{prefix.removeprefix('/api/v1')}/{kind.plural}": {
            "get": _operation(
                kind,
                "watchlist",
                f"watchCoreV1{scope}{kind.kind}List",
                f"{META}.WatchEvent",
                params=_LIST_PARAMS,
            ),
            "parameters": [*scope_params, *common],
        },
    }
    if kind.namespaced:
        paths[f"/api/v1/{kind.plural}"] = {
            "get": _operation(
                kind, "list", f"listCoreV1{kind.kind}ForAllNamespaces", lst, params=_LIST_PARAMS
            ),
            "parameters": common,
        }
    return paths


def _sentence(rng: random.Random) -> str:
    words = rng.choices(_WORDS, k=rng.randint(18, 40))
    return " ".join(words).capitalize() + "."


def filler_definitions(seed: int = 1) -> dict[str, JSONObject]:
    """Many plausible definitions for groups this fake does not serve: document bulk."""
    rng = random.Random(seed)
    definitions: dict[str, JSONObject] = {}
    for g in range(FILLER_GROUPS):
        group = f"{rng.choice(_WORDS)}{g}.example.k8s.io"
        for k in range(FILLER_KINDS_PER_GROUP):
            kind = "".join(w.capitalize() for w in rng.choices(_WORDS[:60], k=2)) + str(k)
            base = f"io.k8s.api.{group.split('.')[0]}.v1.{kind}"
            for suffix in ("Spec", "Status", "Condition"):
                properties: dict[str, Any] = {}
                for _ in range(FILLER_PROPERTIES):
                    name = rng.choice(_WORDS[:60]) + rng.choice(_WORDS[:60]).capitalize()
                    properties[name] = {
                        "description": " ".join(_sentence(rng) for _ in range(3)),
                        "type": rng.choice(["string", "integer", "boolean"]),
                    }
                definitions[f"{base}{suffix}"] = {
                    "description": _sentence(rng),
                    "type": "object",
                    "properties": properties,
                }
            definitions[base] = {
                "description": _sentence(rng),
                "type": "object",
                "properties": {
                    **_type_meta(),
                    "metadata": ref(f"{META}.ObjectMeta"),
                    "spec": ref(f"{base}Spec"),
                    "status": ref(f"{base}Status"),
                },
                "x-kubernetes-group-version-kind": _gvk(kind, group),
            }
    return definitions
