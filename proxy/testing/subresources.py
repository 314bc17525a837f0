"""Subresources: status, scale, binding, eviction, ephemeralcontainers, and the streaming
ones (log, exec, attach, portforward, proxy) for pods that never run as well as for the
fake's "running" pods.

A pod runs when it is bound to a node that exists (see FakeAPIServer.run_pod): then
exec is the echo container of proxy.testing.exec and log the generated log of
proxy.testing.logs. Otherwise the apiserver's answers before any kubelet is reached:
no node yet is a 400 (204 for logs), a node that does not exist a 404 that names the
node as a pod (the apiserver's own quirk).
"""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from aiohttp import hdrs, web

from proxy.testing import status
from proxy.testing.bodies import media_type, read_document
from proxy.testing.exec import serve_exec
from proxy.testing.kinds import ResourceKind
from proxy.testing.list_options import go_int
from proxy.testing.logs import LogRequest, serve_log
from proxy.testing.patch import apply_patch
from proxy.testing.responses import json_response
from proxy.testing.routing import Target
from proxy.testing.state import ServerState
from proxy.testing.status import JSONObject

Handler = Callable[[web.Request, ServerState, Target], Awaitable[web.StreamResponse]]
STREAMING = frozenset({"exec", "attach", "portforward"})


def _get_object(state: ServerState, target: Target) -> JSONObject:
    assert target.name is not None
    return state.store.get(target.kind.plural, target.name, namespace=target.namespace)


def _container_problem(pod: JSONObject, wanted: str) -> str | None:
    """validateContainer: a named container must exist; unnamed, the pod must have one."""
    spec = pod.get("spec") or {}
    name = pod["metadata"]["name"]
    containers = [str(c.get("name")) for c in spec.get("containers") or ()]
    others = [
        str(c.get("name"))
        for key in ("initContainers", "ephemeralContainers")
        for c in spec.get(key) or ()
    ]
    if wanted:
        if wanted in containers or wanted in others:
            return None
        return f"container {wanted} is not valid for pod {name}"
    if len(containers) > 1:
        return (
            f"a container name must be specified for pod {name}, choose one of: "
            f"[{' '.join(containers)}]"
        )
    return None


def _node_of(state: ServerState, pod: JSONObject) -> str | None:
    """The node a pod runs on; None when unscheduled; 404 (as a pod!) when it is missing."""
    node = (pod.get("spec") or {}).get("nodeName")
    if not node:
        return None
    try:
        state.store.get("nodes", node)
    except status.APIError:
        raise status.not_found("pods", node) from None
    return str(node)


async def _read_patch(request: web.Request) -> Any:
    if not request.headers.get(hdrs.CONTENT_TYPE):
        raise status.APIError(
            415, reason="UnsupportedMediaType", message="415: Unsupported Media Type"
        )
    return await read_document(request)


async def _changed(request: web.Request, kind: ResourceKind, current: JSONObject) -> JSONObject:
    """The object a PUT or PATCH of a subresource asks for."""
    if request.method == "PUT":
        document = await read_document(request)
        if not isinstance(document, dict):
            raise status.bad_request("the object provided is unrecognized")
        return document
    patch = await _read_patch(request)
    patched = apply_patch(media_type(request), kind.with_type_meta(current), patch)
    if not isinstance(patched, dict):
        raise status.bad_request("the patch did not produce an object")
    return patched


def _store_update(state: ServerState, target: Target, obj: JSONObject) -> JSONObject:
    return state.store.update(target.kind.plural, obj, namespace=target.namespace)


def _single(request: web.Request, kind: ResourceKind, obj: JSONObject) -> web.Response:
    return json_response(request, kind.with_type_meta(obj))


def _validate_status(kind: ResourceKind, obj: JSONObject) -> None:
    if kind.plural != "services":
        return
    ingress = ((obj.get("status") or {}).get("loadBalancer") or {}).get("ingress")
    if ingress and (obj.get("spec") or {}).get("type") != "LoadBalancer":
        message = "Forbidden: may only be used when `spec.type` is 'LoadBalancer'"
        name = obj["metadata"]["name"]
        raise status.APIError(
            422,
            reason="Invalid",
            message=f'Service "{name}" is invalid: status.loadBalancer.ingress: {message}',
            details={
                "name": name,
                "kind": "Service",
                "causes": [{"reason": "FieldValueForbidden", "message": message,
                            "field": "status.loadBalancer.ingress"}],
            },
        )


async def _status(request: web.Request, state: ServerState, target: Target) -> web.StreamResponse:
    """GET: the whole object; PUT/PATCH: only .status changes, the rest is kept."""
    current = _get_object(state, target)
    if request.method == "GET":
        return _single(request, target.kind, current)
    if request.method not in ("PUT", "PATCH"):
        raise status.method_not_allowed()
    wanted = await _changed(request, target.kind, current)
    updated = copy.deepcopy(current)
    updated["status"] = wanted.get("status") or {}
    if target.kind.plural == "pods":
        for condition in updated["status"].get("conditions") or ():
            # metav1.Time fields without omitempty: Go writes them as null.
            condition.setdefault("lastProbeTime", None)
            condition.setdefault("lastTransitionTime", None)
    _validate_status(target.kind, updated)
    stored = state.store.update_status(target.kind.plural, updated, namespace=target.namespace)
    return _single(request, target.kind, stored)


async def _ephemeral_containers(
    request: web.Request, state: ServerState, target: Target
) -> web.StreamResponse:
    current = _get_object(state, target)
    if request.method == "GET":
        return _single(request, target.kind, current)
    if request.method not in ("PUT", "PATCH"):
        raise status.method_not_allowed()
    wanted = await _changed(request, target.kind, current)
    current.setdefault("spec", {})["ephemeralContainers"] = (wanted.get("spec") or {}).get(
        "ephemeralContainers"
    ) or []
    return _single(request, target.kind, _store_update(state, target, current))


def _scale_of(obj: JSONObject) -> JSONObject:
    metadata = obj["metadata"]
    labels = ((obj.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {k: metadata[k] for k in ("name", "namespace", "uid", "resourceVersion",
                                                 "creationTimestamp") if k in metadata},
        "spec": {"replicas": (obj.get("spec") or {}).get("replicas", 0)},
        "status": {
            "replicas": (obj.get("status") or {}).get("replicas", 0),
            "selector": ",".join(f"{k}={v}" for k, v in sorted(labels.items())),
        },
    }


async def _scale(request: web.Request, state: ServerState, target: Target) -> web.StreamResponse:
    current = _get_object(state, target)
    if request.method == "GET":
        return json_response(request, _scale_of(current))
    if request.method == "PUT":
        wanted = await read_document(request)
    elif request.method == "PATCH":
        wanted = apply_patch(media_type(request), _scale_of(current), await _read_patch(request))
    else:
        raise status.method_not_allowed()
    replicas = ((wanted or {}).get("spec") or {}).get("replicas", 0)
    if not isinstance(replicas, int) or replicas < 0:
        message = f"Invalid value: {replicas}: must be greater than or equal to 0"
        raise status.APIError(
            422,
            reason="Invalid",
            message=f'Scale.autoscaling "{target.name}" is invalid: spec.replicas: {message}',
            details={"name": target.name, "group": "autoscaling", "kind": "Scale", "causes": [
                {"reason": "FieldValueInvalid", "message": message, "field": "spec.replicas"}
            ]},
        )
    current.setdefault("spec", {})["replicas"] = replicas
    current["metadata"]["generation"] = current["metadata"].get("generation", 1) + 1
    return json_response(request, _scale_of(_store_update(state, target, current)))


async def _binding(request: web.Request, state: ServerState, target: Target) -> web.StreamResponse:
    if request.method != "POST":
        raise status.method_not_allowed()
    body = await read_document(request)
    pod = _get_object(state, target)
    node = (pod.get("spec") or {}).get("nodeName")
    if node:
        raise status.APIError(
            409,
            reason="Conflict",
            message=f'Operation cannot be fulfilled on pods/binding "{target.name}": pod '
            f'{target.name} is already assigned to node "{node}"',
            details={"name": target.name, "kind": "pods/binding"},
        )
    pod["spec"]["nodeName"] = str(((body or {}).get("target") or {}).get("name", ""))
    _store_update(state, target, pod)
    return json_response(
        request,
        {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201},
        status=201,
    )


async def _eviction(request: web.Request, state: ServerState, target: Target) -> web.StreamResponse:
    if request.method != "POST":
        raise status.method_not_allowed()
    body = await read_document(request)
    assert target.name is not None
    if not isinstance(body, dict) or (body.get("metadata") or {}).get("name") != target.name:
        raise status.bad_request("name in URL does not match name in Eviction object")
    _get_object(state, target)
    dry_run = request.query.getall("dryRun", []) + list(
        (body.get("deleteOptions") or {}).get("dryRun") or []
    )
    if not dry_run:
        state.store.delete("pods", target.name, namespace=target.namespace)
    body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}
    return json_response(request, body, status=201)


async def _log(request: web.Request, state: ServerState, target: Target) -> web.StreamResponse:
    if request.method != "GET":
        raise status.method_not_allowed()
    pod = _get_object(state, target)
    problem = _container_problem(pod, request.query.get("container", ""))
    if problem is not None:
        raise status.bad_request(problem)
    if _node_of(state, pod) is None:
        return web.Response(status=204)
    containers = (pod.get("spec") or {}).get("containers") or [{"name": "main"}]
    log = LogRequest(
        pod=pod["metadata"]["name"],
        container=request.query.get("container") or str(containers[0].get("name", "main")),
        limit_bytes=_optional_int(request, "limitBytes"),
        tail_lines=_optional_int(request, "tailLines"),
        follow=request.query.get("follow", "").lower() not in ("", "0", "false"),
    )
    return await serve_log(request, state, log)


def _optional_int(request: web.Request, name: str) -> int | None:
    raw = request.query.get(name)
    return None if raw is None else go_int(name, raw)


async def _stream(request: web.Request, state: ServerState, target: Target) -> web.StreamResponse:
    """exec, attach, portforward: GET or POST, checks before any upgrade."""
    if request.method not in ("GET", "POST"):
        raise status.method_not_allowed()
    pod = _get_object(state, target)
    if target.subresource != "portforward":
        problem = _container_problem(pod, request.query.get("container", ""))
        if problem is not None:
            raise status.bad_request(problem)
    if _node_of(state, pod) is None:
        raise status.bad_request(f"pod {target.name} does not have a host assigned")
    if target.subresource == "exec":
        return await serve_exec(request, state)
    raise status.bad_request(f"the fake kubelet does not serve {target.subresource}")


def _proxied_name(target: Target) -> Target:
    """`[scheme:]name[:port]` in a proxy path names the object `name`."""
    assert target.name is not None
    parts = target.name.split(":")
    name = parts[1] if len(parts) == 3 else parts[0]
    return replace(target, name=name)


async def _proxy(request: web.Request, state: ServerState, target: Target) -> web.StreamResponse:
    target = _proxied_name(target)
    obj = _get_object(state, target)
    if target.kind.plural == "pods":
        if not (obj.get("status") or {}).get("podIP"):
            raise status.bad_request("address not allowed")
    elif target.kind.plural == "services":
        assert target.name is not None
        try:
            endpoints = state.store.get("endpoints", target.name, namespace=target.namespace)
        except status.APIError:
            raise status.not_found("services", target.name) from None
        if not any(subset.get("addresses") for subset in endpoints.get("subsets") or ()):
            raise status.APIError(
                503,
                reason="ServiceUnavailable",
                message=f'no endpoints available for service "{target.name}"',
            )
    raise status.APIError(
        503,
        reason="ServiceUnavailable",
        message=f"error trying to reach {target.kind.singular}: the fake API server has no "
        "network to reach it",
    )


async def _create_only(
    request: web.Request, state: ServerState, target: Target
) -> web.StreamResponse:
    raise status.method_not_allowed()


_HANDLERS: dict[str, Handler] = {
    "status": _status,
    "scale": _scale,
    "binding": _binding,
    "eviction": _eviction,
    "ephemeralcontainers": _ephemeral_containers,
    "log": _log,
    "exec": _stream,
    "attach": _stream,
    "portforward": _stream,
    "proxy": _proxy,
    "token": _create_only,  # POST is TokenRequest's own route
}


async def handle_subresource(
    request: web.Request, state: ServerState, target: Target
) -> web.StreamResponse:
    assert target.subresource is not None
    handler = _HANDLERS.get(target.subresource)
    if handler is None:
        raise status.method_not_allowed()
    return await handler(request, state, target)
