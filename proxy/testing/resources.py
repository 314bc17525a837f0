"""REST verbs on resources: the dispatcher. Reads (get, list) are in `reads`, writes
(create, update, patch, delete) in `writes`, watches in `watch`, subresources in
`subresources`."""

from __future__ import annotations

from aiohttp import hdrs, web

from proxy.testing import reads, status, writes
from proxy.testing.auth import is_websocket_request
from proxy.testing.negotiation import PLAIN, negotiate
from proxy.testing.request_info import watch_requested
from proxy.testing.routing import Target, parse_target
from proxy.testing.state import STATE, ServerState
from proxy.testing.subresources import handle_subresource
from proxy.testing.watch import (
    WatchRequest,
    build_watch_request,
    serve_watch,
    serve_watch_websocket,
    wants_protobuf,
    watch_options,
)

_object_filter = reads.object_filter
_table_params = reads.table_include_object


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
    if target.name is None:
        return await reads.list_objects(request, state, target)
    return await reads.get_object(request, state, target)


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
            return await writes.create(request, state, target)
        # deletecollection is served per namespace only: DELETE /api/v1/configmaps is a 405.
        cluster_wide = target.kind.namespaced and target.namespace is None
        if method == "DELETE" and "deletecollection" in target.kind.verbs and not cluster_wide:
            return await writes.delete_collection(request, state, target)
    elif method == "PUT":
        return await writes.update(request, state, target)
    elif method == "PATCH":
        return await writes.patch(request, state, target)
    elif method == "DELETE":
        return await writes.delete(request, state, target)
    raise status.method_not_allowed()
