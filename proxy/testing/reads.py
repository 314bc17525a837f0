"""GET of one object and of lists: resourceVersion semantics, paging, selectors, and the
representation the client negotiated (JSON, YAML, protobuf, Table, partial metadata).

resourceVersion as the apiserver reads it: "" is the latest; "0" is any (the watch
cache, which ignores `limit`); a number is "not older than" (the cache waits up to 3 s
for a future one, then 504); with resourceVersionMatch=Exact the list as it was then.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json

from aiohttp import hdrs, web

from proxy.testing import protobuf_encoding as pb
from proxy.testing import status
from proxy.testing.kinds import ResourceKind, without_type_meta
from proxy.testing.list_options import EXACT, parse_list_options, validate_list_options
from proxy.testing.negotiation import PARTIAL, PARTIAL_LIST, Representation, negotiate
from proxy.testing.responses import object_response
from proxy.testing.routing import Target
from proxy.testing.selectors import ObjectFilter, parse_field_selector, parse_label_selector
from proxy.testing.state import ServerState
from proxy.testing.status import JSONObject
from proxy.testing.store import storage_key
from proxy.testing.table import to_table

TOO_LARGE_WAIT_S = 3.0  # the watch cache's blockTimeout for a future resourceVersion


def negotiate_for(request: web.Request, kind: ResourceKind) -> Representation:
    """The representation asked for; protobuf only for kinds written completely in it."""
    return negotiate(request.headers.get(hdrs.ACCEPT, ""),
                     protobuf=kind.kind in pb.COMPLETE_KINDS)


def object_filter(request: web.Request, target: Target) -> ObjectFilter:
    terms = [request.query.get("fieldSelector", "")]
    if target.name is not None:  # a watch on one object is a metadata.name field selector
        terms.append(f"metadata.name={target.name}")
    return ObjectFilter(
        parse_label_selector(request.query.get("labelSelector", "")),
        parse_field_selector(",".join(term for term in terms if term), kind=target.kind),
    )


def table_include_object(request: web.Request) -> str:
    include = request.query.get("includeObject", "Metadata") or "Metadata"
    if include not in ("None", "Metadata", "Object"):
        raise status.bad_request(f"includeObject: unsupported value {include!r}")
    return include


def parse_resource_version(raw: str) -> int | None:
    """None for "" (latest); Go's ParseUint error as the apiserver's 500 otherwise."""
    if raw == "":
        return None
    if not raw.isdigit():
        raise status.internal(
            f'resourceVersion: Invalid value: "{raw}": strconv.ParseUint: parsing "{raw}": '
            "invalid syntax"
        )
    return int(raw)


async def wait_for_resource_version(state: ServerState, wanted: int) -> None:
    """A resourceVersion from the future: wait for the store to get there, or 504."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + TOO_LARGE_WAIT_S
    while state.store.resource_version < wanted:
        if loop.time() >= deadline:
            raise status.too_large_resource_version(wanted, state.store.resource_version)
        await asyncio.sleep(0.05)


def encode_continue(resource_version: int, start: str) -> str:
    token = {"v": "meta.k8s.io/v1", "rv": resource_version, "start": start + "\x00"}
    raw = json.dumps(token, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_continue(token: str) -> tuple[int, str]:
    try:
        padded = token + "=" * (-len(token) % 4)
        decoded = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if decoded.get("v") != "meta.k8s.io/v1":
            raise ValueError("continue key is not valid: incorrect encoded start resourceVersion")
        return int(decoded["rv"]), str(decoded["start"])
    except (binascii.Error, ValueError, KeyError, TypeError, AttributeError) as error:
        text = str(error)
        if not text.startswith("continue key"):
            text = f"continue key is not valid: {text}"
        raise status.bad_request(f"invalid continue token: {text}") from None


def _key_of(obj: JSONObject) -> str:
    metadata = obj["metadata"]
    return storage_key(metadata.get("namespace", ""), metadata["name"])


def _partial(metadata: JSONObject, api_version: str) -> JSONObject:
    return {"kind": PARTIAL, "apiVersion": api_version, "metadata": metadata}


def render(
    request: web.Request,
    state: ServerState,
    kind: ResourceKind,
    representation: Representation,
    *,
    obj: JSONObject | None = None,
    items: list[JSONObject] | None = None,
    list_metadata: JSONObject | None = None,
    code: int = 200,
) -> web.Response:
    """One object (`obj`) or a list (`items`, `list_metadata`) as the client negotiated."""
    is_list = items is not None
    objects = items if items is not None else [obj or {}]
    if representation.table_api_version is not None:
        metadata = list_metadata if is_list else {
            "resourceVersion": (obj or {}).get("metadata", {}).get("resourceVersion", "")}
        body: JSONObject = to_table(
            kind, objects, list_metadata=metadata or {}, now=state.clock(),
            include_object=table_include_object(request),
            api_version=representation.table_api_version,
        )
    elif representation.partial is not None:
        wanted, api_version = representation.partial
        if (wanted == PARTIAL_LIST) != is_list:
            shape = f"*v1.{kind.list_kind}" if is_list else f"*v1.{kind.kind}"
            raise status.APIError(
                406, reason="NotAcceptable",
                message=f"you requested {wanted}, but the requested object is "
                        f"{'a list' if is_list else 'not a list'} ({shape})",
            )
        if is_list:
            body = {"kind": PARTIAL_LIST, "apiVersion": api_version,
                    "metadata": list_metadata or {},
                    "items": [_partial(o.get("metadata", {}), api_version) for o in objects]}
        else:
            body = _partial((obj or {}).get("metadata", {}), api_version)
    elif is_list:
        body = {"kind": kind.list_kind, "apiVersion": kind.api_version,
                "metadata": list_metadata or {},
                "items": [without_type_meta(o) for o in objects]}
    else:
        body = kind.with_type_meta(obj or {})
    return object_response(request, body, media_type=representation.media_type, status=code)


async def get_object(request: web.Request, state: ServerState, target: Target) -> web.Response:
    assert target.name is not None
    representation = negotiate_for(request, target.kind)
    wanted = parse_resource_version(request.query.get("resourceVersion", ""))
    if wanted:
        await wait_for_resource_version(state, wanted)
    obj = state.store.get(target.kind.plural, target.name, namespace=target.namespace)
    return render(request, state, target.kind, representation, obj=obj)


def _page(
    objects: list[JSONObject], *, limit: int, list_rv: int, count_remaining: bool
) -> tuple[list[JSONObject], JSONObject]:
    metadata: JSONObject = {"resourceVersion": str(list_rv)}
    if limit > 0 and len(objects) > limit:
        remaining = len(objects) - limit
        objects = objects[:limit]
        metadata["continue"] = encode_continue(list_rv, _key_of(objects[-1]))
        if count_remaining:
            metadata["remainingItemCount"] = remaining
    return objects, metadata


async def list_objects(request: web.Request, state: ServerState, target: Target) -> web.Response:
    kind = target.kind
    options = parse_list_options(request.query)
    validate_list_options(options)  # 400 and 422 come first
    representation = negotiate_for(request, kind)
    wanted = parse_resource_version(options.resource_version)
    selection = object_filter(request, target)
    store = state.store
    if options.continue_token and wanted:
        raise status.bad_request("specifying resource version is not allowed when using continue")
    limit = options.limit or 0
    if options.continue_token:
        list_rv, start = decode_continue(options.continue_token)
        objects = [o for o in _at(state, kind, target, list_rv) if _key_of(o) >= start]
    elif wanted and options.resource_version_match == EXACT:
        list_rv = wanted
        await wait_for_resource_version(state, wanted)
        objects = store.list_at(kind.plural, wanted, namespace=target.namespace)
    else:
        if wanted:
            await wait_for_resource_version(state, wanted)
        if options.resource_version == "0":
            limit = 0  # served from the watch cache, which does not page
        list_rv = store.resource_version
        objects = store.list(kind.plural, namespace=target.namespace)
    objects = [o for o in objects if selection.matches(o)]
    page, metadata = _page(objects, limit=limit, list_rv=list_rv,
                           count_remaining=selection.empty)
    return render(request, state, kind, representation, items=page, list_metadata=metadata)


def _at(state: ServerState, kind: ResourceKind, target: Target, rv: int) -> list[JSONObject]:
    """A continued list reads the revision of its first page while history reaches it."""
    try:
        return state.store.list_at(kind.plural, rv, namespace=target.namespace)
    except status.APIError:
        return state.store.list(kind.plural, namespace=target.namespace)

