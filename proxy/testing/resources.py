"""REST verbs on /api/v1 resources: get, list (pages, selectors, tables), create, update,
patch, delete, plus watch and pod logs handed on to their modules."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from aiohttp import hdrs, web

from proxy.testing import status
from proxy.testing.auth import is_websocket_request
from proxy.testing.bodies import media_type, read_document, read_object
from proxy.testing.kinds import ResourceKind, without_type_meta
from proxy.testing.list_options import parse_list_options, validate_list_options
from proxy.testing.negotiation import PLAIN, Representation, negotiate
from proxy.testing.patch import apply_patch
from proxy.testing.request_info import watch_requested
from proxy.testing.responses import json_response
from proxy.testing.routing import Target, parse_target
from proxy.testing.selectors import ObjectFilter, parse_field_selector, parse_label_selector
from proxy.testing.state import STATE, ServerState
from proxy.testing.status import JSONObject
from proxy.testing.store import storage_key
from proxy.testing.subresources import handle_subresource
from proxy.testing.table import to_table
from proxy.testing.watch import (
    WatchRequest,
    build_watch_request,
    serve_watch,
    serve_watch_websocket,
    wants_protobuf,
    watch_options,
)

TRUE_VALUES = frozenset({"true", "1"})


def _flag(request: web.Request, name: str) -> bool:
    return request.query.get(name, "").lower() in TRUE_VALUES


def _int_param(request: web.Request, name: str) -> int | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError as error:
        raise status.bad_request(f"invalid value for {name}: {raw!r}") from error


def _dry_run(request: web.Request) -> bool:
    values = request.query.getall("dryRun", [])
    for value in values:
        if value != "All":
            raise status.bad_request(f'Invalid dryRun value "{value}": must be "All"')
    return bool(values)


def _object_filter(request: web.Request, target: Target) -> ObjectFilter:
    terms = [request.query.get("fieldSelector", "")]
    if target.name is not None:  # a watch on one object is a metadata.name field selector
        terms.append(f"metadata.name={target.name}")
    return ObjectFilter(
        parse_label_selector(request.query.get("labelSelector", "")),
        parse_field_selector(",".join(term for term in terms if term)),
    )


def _encode_continue(resource_version: int, start: str) -> str:
    token = {"v": "meta.k8s.io/v1", "rv": resource_version, "start": start + "\x00"}
    return base64.urlsafe_b64encode(json.dumps(token, separators=(",", ":")).encode()).decode()


def _decode_continue(token: str) -> tuple[int, str]:
    try:
        decoded = json.loads(base64.urlsafe_b64decode(token.encode()))
        return int(decoded["rv"]), str(decoded["start"])
    except (binascii.Error, ValueError, KeyError, TypeError) as error:
        raise status.bad_request(f"continue key is not valid: {error}") from error


def _key_of(obj: JSONObject) -> str:
    metadata = obj["metadata"]
    return storage_key(metadata.get("namespace", ""), metadata["name"])


def _table_params(request: web.Request) -> str:
    include = request.query.get("includeObject", "Metadata") or "Metadata"
    if include not in ("None", "Metadata", "Object"):
        raise status.bad_request(f"includeObject: unsupported value {include!r}")
    return include


def _single(
    request: web.Request,
    state: ServerState,
    kind: ResourceKind,
    obj: JSONObject,
    *,
    code: int = 200,
) -> web.Response:
    representation = (
        negotiate(request.headers.get(hdrs.ACCEPT, "")) if request.method == "GET" else PLAIN
    )
    if representation.table_api_version is not None:
        table = to_table(
            kind,
            [obj],
            list_metadata={"resourceVersion": obj["metadata"].get("resourceVersion", "")},
            now=state.clock(),
            include_object=_table_params(request),
            api_version=representation.table_api_version,
        )
        return json_response(request, table, status=code)
    return json_response(request, kind.with_type_meta(obj), status=code)


def _list(
    request: web.Request, state: ServerState, target: Target, representation: Representation
) -> web.Response:
    kind = target.kind
    validate_list_options(parse_list_options(request.query))  # 400 and 422 come first
    object_filter = _object_filter(request, target)
    limit = _int_param(request, "limit") or 0
    token = request.query.get("continue", "")
    list_rv = state.store.resource_version
    objects = state.store.list(kind.plural, namespace=target.namespace)
    if token:
        list_rv, start = _decode_continue(token)
        objects = [obj for obj in objects if _key_of(obj) >= start]
    objects = [obj for obj in objects if object_filter.matches(obj)]
    metadata: JSONObject = {"resourceVersion": str(list_rv)}
    if limit > 0 and len(objects) > limit:
        remaining = len(objects) - limit
        objects = objects[:limit]
        metadata["continue"] = _encode_continue(list_rv, _key_of(objects[-1]))
        if object_filter.empty:
            metadata["remainingItemCount"] = remaining
    if representation.table_api_version is not None:
        table = to_table(
            kind,
            objects,
            list_metadata=metadata,
            now=state.clock(),
            include_object=_table_params(request),
            api_version=representation.table_api_version,
        )
        return json_response(request, table)
    body = {
        "kind": kind.list_kind,
        "apiVersion": kind.api_version,
        "metadata": metadata,
        "items": [without_type_meta(obj) for obj in objects],
    }
    return json_response(request, body)


def _watch_request(request: web.Request, state: ServerState, target: Target) -> WatchRequest:
    options = watch_options(request, forced=target.legacy_watch)  # 400 and 422 come first
    accept = request.headers.get(hdrs.ACCEPT, "")
    protobuf = wants_protobuf(accept)
    return build_watch_request(
        state,
        options,
        kind=target.kind,
        namespace=target.namespace,
        object_filter=_object_filter(request, target),
        representation=PLAIN if protobuf else negotiate(accept),
        include_object=_table_params(request),
        protobuf=protobuf,
    )


async def _get(request: web.Request, state: ServerState, target: Target) -> web.StreamResponse:
    # ?watch on one object's path is a plain GET; only the legacy /watch/ path watches one.
    if target.legacy_watch or (target.name is None and watch_requested(request.query.items())):
        watch = _watch_request(request, state, target)
        if is_websocket_request(request):
            return await serve_watch_websocket(request, state, watch)
        return await serve_watch(request, state, watch)
    representation = negotiate(request.headers.get(hdrs.ACCEPT, ""))
    if target.name is None:
        return _list(request, state, target, representation)
    obj = state.store.get(target.kind.plural, target.name, namespace=target.namespace)
    return _single(request, state, target.kind, obj)


async def _create(request: web.Request, state: ServerState, target: Target) -> web.Response:
    obj = await read_object(request, target.kind)
    created = state.store.create(
        target.kind.plural, obj, namespace=target.namespace, dry_run=_dry_run(request)
    )
    return _single(request, state, target.kind, created, code=201)


async def _update(request: web.Request, state: ServerState, target: Target) -> web.Response:
    assert target.name is not None
    obj = await read_object(request, target.kind)
    body_name = obj.get("metadata", {}).get("name")
    if body_name != target.name:
        raise status.bad_request(
            f"the name of the object ({body_name}) does not match the name on the URL "
            f"({target.name})"
        )
    updated = state.store.update(
        target.kind.plural, obj, namespace=target.namespace, dry_run=_dry_run(request)
    )
    return _single(request, state, target.kind, updated)


async def _patch(request: web.Request, state: ServerState, target: Target) -> web.Response:
    assert target.name is not None
    patch: Any = await read_document(request)
    current = state.store.get(target.kind.plural, target.name, namespace=target.namespace)
    patched = apply_patch(media_type(request), target.kind.with_type_meta(current), patch)
    if not isinstance(patched, dict):
        raise status.bad_request("the patch did not produce an object")
    patched.setdefault("metadata", {})["name"] = target.name
    if patched["metadata"].get("resourceVersion") is None:
        patched["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
    updated = state.store.update(
        target.kind.plural, patched, namespace=target.namespace, dry_run=_dry_run(request)
    )
    return _single(request, state, target.kind, updated)


async def _delete(request: web.Request, state: ServerState, target: Target) -> web.Response:
    assert target.name is not None
    kind = target.kind
    deleted = state.store.delete(
        kind.plural, target.name, namespace=target.namespace, dry_run=_dry_run(request)
    )
    if kind.delete_returns_object:
        return _single(request, state, kind, deleted)
    metadata = deleted["metadata"]
    body = status.success(name=metadata["name"], kind=kind.plural, uid=metadata["uid"])
    return json_response(request, body)


async def _delete_collection(
    request: web.Request, state: ServerState, target: Target
) -> web.Response:
    kind = target.kind
    object_filter = _object_filter(request, target)
    dry_run = _dry_run(request)
    deleted = [
        state.store.delete(
            kind.plural,
            obj["metadata"]["name"],
            namespace=obj["metadata"].get("namespace"),
            dry_run=dry_run,
        )
        for obj in state.store.list(kind.plural, namespace=target.namespace)
        if object_filter.matches(obj)
    ]
    body = {
        "kind": kind.list_kind,
        "apiVersion": kind.api_version,
        "metadata": {"resourceVersion": str(state.store.resource_version)},
        "items": [without_type_meta(obj) for obj in deleted],
    }
    return json_response(request, body)


async def handle_resource(request: web.Request) -> web.StreamResponse:
    """Entry point for everything below /api/v1/ and /apis/GROUP/VERSION/."""
    state = request.app[STATE]
    target = parse_target(request.match_info["tail"], group=request.match_info.get("group", ""))
    method = request.method
    if target.subresource is not None:
        return await handle_subresource(request, state, target)
    if method == "GET":
        return await _get(request, state, target)
    if target.legacy_watch:
        raise status.method_not_allowed()
    if target.name is None:
        if method == "POST":
            return await _create(request, state, target)
        # deletecollection is served per namespace only: DELETE /api/v1/configmaps is a 405.
        cluster_wide = target.kind.namespaced and target.namespace is None
        if method == "DELETE" and "deletecollection" in target.kind.verbs and not cluster_wide:
            return await _delete_collection(request, state, target)
    elif method == "PUT":
        return await _update(request, state, target)
    elif method == "PATCH":
        return await _patch(request, state, target)
    elif method == "DELETE":
        return await _delete(request, state, target)
    raise status.method_not_allowed()
