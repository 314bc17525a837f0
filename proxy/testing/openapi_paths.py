"""The REST paths and operations of the served resources, as the apiserver publishes them
in Swagger 2.0 form (openapi.py derives the OpenAPI 3 form)."""

from __future__ import annotations

from proxy.testing.kinds import ResourceKind
from proxy.testing.openapi_definitions import META, definition_prefix, ref
from proxy.testing.status import JSONObject


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
        description=(
            "fieldManager is a name associated with the actor or entity that is making "
            "these changes."
        ),
    ),
    _param(
        "fieldValidation",
        description=(
            "fieldValidation instructs the server on how to handle objects in the request "
            "containing unknown or duplicate fields."
        ),
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
        "tags": [f"{(kind.group or 'core').replace('.', '_')}_{kind.version}"],
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
    types = definition_prefix(kind)
    obj, lst = f"{types}.{kind.kind}", f"{types}.{kind.list_kind}"
    scope = "Namespaced" if kind.namespaced else ""
    root = f"/apis/{kind.group}/{kind.version}" if kind.group else f"/api/{kind.version}"
    group_name = "".join(part.capitalize() for part in (kind.group or "core").split("."))
    op = f"{group_name}{kind.version.capitalize()}"
    prefix = f"{root}/namespaces/{{namespace}}" if kind.namespaced else root
    common = [_param("pretty", description="If 'true', then the output is pretty printed.")]
    scope_params = [_param("namespace", location="path")] if kind.namespaced else []
    name_params = [_param("name", location="path"), *scope_params, *common]
    paths: dict[str, JSONObject] = {
        f"{prefix}/{kind.plural}": {
            "get": _operation(
                kind, "list", f"list{op}{scope}{kind.kind}", lst, params=_LIST_PARAMS
            ),
            "post": _operation(
                kind, "post", f"create{op}{scope}{kind.kind}", obj, params=_WRITE_PARAMS, body=obj
            ),
            "parameters": [*scope_params, *common],
        },
        f"{prefix}/{kind.plural}/{{name}}": {
            "get": _operation(kind, "get", f"read{op}{scope}{kind.kind}", obj),
            "put": _operation(
                kind, "put", f"replace{op}{scope}{kind.kind}", obj, params=_WRITE_PARAMS, body=obj
            ),
            "patch": _operation(
                kind,
                "patch",
                f"patch{op}{scope}{kind.kind}",
                obj,
                params=[*_WRITE_PARAMS, _param("force", type_="boolean")],
                body=f"{META}.Patch",
            ),
            "delete": _operation(
                kind,
                "delete",
                f"delete{op}{scope}{kind.kind}",
                f"{META}.Status",
                params=[_param("dryRun")],
                body=f"{META}.DeleteOptions",
            ),
            "parameters": name_params,
        },
        f"{root}/watch{prefix.removeprefix(root)}/{kind.plural}": {
            "get": _operation(
                kind,
                "watchlist",
                f"watch{op}{scope}{kind.kind}List",
                f"{META}.WatchEvent",
                params=_LIST_PARAMS,
            ),
            "parameters": [*scope_params, *common],
        },
    }
    if kind.namespaced:
        paths[f"{root}/{kind.plural}"] = {
            "get": _operation(
                kind, "list", f"list{op}{kind.kind}ForAllNamespaces", lst, params=_LIST_PARAMS
            ),
            "parameters": common,
        }
    return paths
