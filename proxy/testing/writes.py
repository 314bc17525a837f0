"""POST, PUT, PATCH and DELETE on resources, in the apiserver's order of checks.

Each handler negotiates the response first (406), then the body's Content-Type (415),
reads the body within its limit (413), decodes and validates the options (400, 422),
decodes the body (400), checks names and namespaces (400), validates the object
(422), and only then touches the store (404, 409, 500). Field ownership
(metadata.managedFields) is recorded on every write; PATCH includes server-side apply.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import hdrs, web

from proxy.testing import field_manager, status
from proxy.testing.decoding import (
    Document,
    apply_field_validation,
    check_type,
    go_json_error,
    parse_body,
    parse_yaml,
    read_limited,
    require_body_media_type,
)
from proxy.testing.filters import WARNINGS_KEY
from proxy.testing.kinds import ResourceKind
from proxy.testing.patch import JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH, apply_patch
from proxy.testing.reads import negotiate_for, object_filter, render
from proxy.testing.responses import object_response
from proxy.testing.routing import Target
from proxy.testing.state import ServerState
from proxy.testing.status import JSONObject
from proxy.testing.store import format_timestamp
from proxy.testing.validation import validate, validate_update
from proxy.testing.write_options import (
    APPLY_PATCH,
    WriteOptions,
    delete_options,
    write_options,
)

PATCH_TYPES = (JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH, APPLY_PATCH)
NAMESPACE_MISMATCH = (
    "the namespace of the provided object does not match the namespace sent on the request"
)


def _warnings(request: web.Request) -> list[str]:
    warnings: list[str] = request.setdefault(WARNINGS_KEY, [])
    return warnings


def _manager(request: web.Request, options: WriteOptions) -> str:
    return field_manager.manager_for(
        options.field_manager, request.headers.get(hdrs.USER_AGENT, "")
    )


def _record(
    request: web.Request, state: ServerState, options: WriteOptions,
    old: JSONObject | None, new: JSONObject,
) -> None:
    """Field ownership of an Update: the writer takes what it changed."""
    ownership = field_manager.Ownership(old if old is not None else {})
    ownership.api_version = str(new.get("apiVersion") or ownership.api_version)
    ownership.record_update(_manager(request, options), old, new)
    ownership.write(new, format_timestamp(state.clock()))


def _decode(
    request: web.Request, raw: bytes, *, media_type: str, kind: ResourceKind,
    options: WriteOptions,
) -> JSONObject:
    decoded = check_type(parse_body(raw, media_type=media_type, kind=kind), kind)
    obj = apply_field_validation(
        decoded, kind, directive=options.validation_directive, warnings=_warnings(request)
    )
    obj["kind"], obj["apiVersion"] = kind.kind, kind.api_version
    if not isinstance(obj.get("metadata"), dict):
        obj["metadata"] = {}
    return obj


def _check_namespace(target: Target, obj: JSONObject) -> None:
    sent = obj["metadata"].get("namespace")
    if target.kind.namespaced and sent and target.namespace and sent != target.namespace:
        raise status.bad_request(NAMESPACE_MISMATCH)


async def create(request: web.Request, state: ServerState, target: Target) -> web.Response:
    kind = target.kind
    if kind.namespaced and target.namespace is None:
        raise status.method_not_allowed()  # no POST on the all-namespaces list
    representation = negotiate_for(request, kind)
    media_type = require_body_media_type(request)
    raw = await read_limited(request)
    options = write_options(request, options_kind="CreateOptions")
    obj = _decode(request, raw, media_type=media_type, kind=kind, options=options)
    _check_namespace(target, obj)
    validate(kind, obj)
    _record(request, state, options, None, obj)
    created = state.store.create(
        kind.plural, obj, namespace=target.namespace, dry_run=options.dry_run
    )
    return render(request, state, kind, representation, obj=created, code=201)


def _check_name(target: Target, obj: JSONObject) -> None:
    """checkName: the body names the object of the URL, in the URL's namespace."""
    name = obj["metadata"].get("name") or ""
    if not name:
        raise status.bad_request(
            f"the name of the object ({target.name} based on URL) was undeterminable: "
            "name must be provided"
        )
    if name != target.name:
        raise status.bad_request(
            f"the name of the object ({name}) does not match the name on the URL "
            f"({target.name})"
        )
    sent = obj["metadata"].get("namespace")
    if target.kind.namespaced and sent and target.namespace and sent != target.namespace:
        raise status.bad_request(
            f"the namespace of the object ({sent}) does not match the namespace on the URL "
            f"({target.namespace})"
        )


def _keep_managed_fields(obj: JSONObject, current: JSONObject) -> None:
    """A write that does not send managedFields keeps the stored ones."""
    if "managedFields" not in obj["metadata"] and current["metadata"].get("managedFields"):
        obj["metadata"]["managedFields"] = current["metadata"]["managedFields"]


async def update(request: web.Request, state: ServerState, target: Target) -> web.Response:
    assert target.name is not None
    kind = target.kind
    representation = negotiate_for(request, kind)
    media_type = require_body_media_type(request)
    raw = await read_limited(request)
    options = write_options(request, options_kind="UpdateOptions")
    obj = _decode(request, raw, media_type=media_type, kind=kind, options=options)
    _check_name(target, obj)
    current = kind.with_type_meta(
        state.store.get(kind.plural, target.name, namespace=target.namespace))
    _keep_managed_fields(obj, current)
    _fill_identity(obj, current)
    validate_update(kind, obj, current)
    _record(request, state, options, current, obj)
    updated = state.store.update(
        kind.plural, obj, namespace=target.namespace, dry_run=options.dry_run
    )
    return render(request, state, kind, representation, obj=updated)


def _fill_identity(obj: JSONObject, current: JSONObject) -> None:
    """What an update may leave out and the server keeps (namespace, for validation)."""
    if current["metadata"].get("namespace"):
        obj["metadata"].setdefault("namespace", current["metadata"]["namespace"])


def _patch_media_type(request: web.Request) -> str:
    media = request.headers.get(hdrs.CONTENT_TYPE, "").split(";")[0].strip().lower()
    if media not in PATCH_TYPES:
        raise status.unsupported_patch_type()
    return media


def _parse_patch(raw: bytes) -> Any:
    try:
        return json.loads(raw.decode("utf-8", errors="replace"))
    except json.JSONDecodeError as error:
        text = raw.decode("utf-8", errors="replace")
        raise status.bad_request(f"error decoding patch: {go_json_error(error, text)}") from None


async def patch(request: web.Request, state: ServerState, target: Target) -> web.Response:
    assert target.name is not None
    kind = target.kind
    representation = negotiate_for(request, kind)
    media_type = _patch_media_type(request)
    raw = await read_limited(request)
    options = write_options(request, options_kind="PatchOptions", patch_type=media_type)
    if media_type == APPLY_PATCH:
        return await _server_side_apply(request, state, target, raw, options, representation)
    document = _parse_patch(raw)
    current = kind.with_type_meta(
        state.store.get(kind.plural, target.name, namespace=target.namespace))
    patched = apply_patch(media_type, current, document)
    if not isinstance(patched, dict):
        raise status.bad_request("the patch did not produce an object")
    decoded = check_type(Document(patched), kind)
    obj = apply_field_validation(
        decoded, kind, directive=options.validation_directive, warnings=_warnings(request)
    )
    if not isinstance(obj.get("metadata"), dict):
        obj["metadata"] = {}
    _check_patched_identity(target, obj, current)
    if obj["metadata"].get("resourceVersion") is None:
        obj["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
    validate_update(kind, obj, current)
    _record(request, state, options, current, obj)
    updated = state.store.update(
        kind.plural, obj, namespace=target.namespace, dry_run=options.dry_run
    )
    return render(request, state, kind, representation, obj=updated)


def _check_patched_identity(target: Target, obj: JSONObject, current: JSONObject) -> None:
    metadata = obj["metadata"]
    if target.kind.namespaced and metadata.get("namespace") != current["metadata"].get(
        "namespace"
    ):
        raise status.bad_request(NAMESPACE_MISMATCH)
    name = metadata.get("name")
    if name != target.name:
        raise status.invalid(
            target.kind.kind, str(target.name),
            f'metadata.name: Invalid value: "{name}": field is immutable',
        )


def _apply_config(raw: bytes, target: Target) -> JSONObject:
    """The applied configuration: YAML (JSON is YAML), with its own apiVersion and kind."""
    try:
        config = parse_yaml(raw).value
    except ValueError as error:
        raise status.bad_request(f"error decoding YAML: {error}") from None
    if not isinstance(config, dict):
        raise status.bad_request("invalid object type: /, Kind=")
    api_version, kind_name = str(config.get("apiVersion") or ""), str(config.get("kind") or "")
    group, _, version = api_version.rpartition("/")
    if not api_version or not kind_name:
        raise status.bad_request(f"invalid object type: {group}/{version}, Kind={kind_name}")
    kind = target.kind
    if api_version != kind.api_version or kind_name != kind.kind:
        raise status.bad_request(f"invalid object type: {group}/{version}, Kind={kind_name}")
    metadata = config.get("metadata")
    if not isinstance(metadata, dict):
        config["metadata"] = metadata = {}
    if metadata.get("name") and metadata["name"] != target.name:
        raise status.bad_request(
            f"the name of the object ({metadata['name']}) does not match the name on the URL "
            f"({target.name})"
        )
    if target.kind.namespaced and metadata.get("namespace") and (
        metadata["namespace"] != target.namespace
    ):
        raise status.bad_request(NAMESPACE_MISMATCH)
    metadata["name"] = target.name
    return config


async def _server_side_apply(
    request: web.Request, state: ServerState, target: Target, raw: bytes,
    options: WriteOptions, representation: Any,
) -> web.Response:
    assert target.name is not None
    kind = target.kind
    config = _apply_config(raw, target)
    apply_field_validation(
        check_type(Document(config), kind), kind,
        directive=options.validation_directive, warnings=_warnings(request),
    )
    store = state.store
    try:
        live: JSONObject | None = kind.with_type_meta(
            store.get(kind.plural, target.name, namespace=target.namespace))
    except status.APIError as error:
        if error.code != 404:
            raise
        live = None
    merged, ownership = field_manager.apply(
        live, config, manager=options.field_manager, force=options.force
    )
    ownership.write(merged, format_timestamp(state.clock()))
    if live is None:
        if target.namespace is not None:
            merged["metadata"]["namespace"] = target.namespace
        validate(kind, merged)
        created = store.create(kind.plural, merged, namespace=target.namespace,
                               dry_run=options.dry_run)
        return render(request, state, kind, representation, obj=created, code=201)
    validate_update(kind, merged, live)
    updated = store.update(kind.plural, merged, namespace=target.namespace,
                           dry_run=options.dry_run)
    return render(request, state, kind, representation, obj=updated)


async def delete(request: web.Request, state: ServerState, target: Target) -> web.Response:
    assert target.name is not None
    kind = target.kind
    representation = negotiate_for(request, kind)
    options = await delete_options(request)
    deleted = state.store.delete(
        kind.plural, target.name, namespace=target.namespace, dry_run=options.dry_run,
        precondition_uid=options.precondition_uid,
        precondition_resource_version=options.precondition_resource_version,
    )
    if kind.delete_returns_object:
        return render(request, state, kind, representation, obj=deleted)
    metadata = deleted["metadata"]
    body = status.success(name=metadata["name"], kind=kind.plural, uid=metadata["uid"])
    return object_response(request, body, media_type=representation.media_type)


async def delete_collection(
    request: web.Request, state: ServerState, target: Target
) -> web.Response:
    kind = target.kind
    representation = negotiate_for(request, kind)
    options = await delete_options(request)
    selection = object_filter(request, target)
    deleted = [
        state.store.delete(
            kind.plural, obj["metadata"]["name"], namespace=obj["metadata"].get("namespace"),
            dry_run=options.dry_run,
        )
        for obj in state.store.list(kind.plural, namespace=target.namespace)
        if selection.matches(obj)
    ]
    metadata = {"resourceVersion": str(state.store.resource_version)}
    return render(request, state, kind, representation, items=deleted, list_metadata=metadata)
