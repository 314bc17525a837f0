"""Discovery: /api, /api/v1, /apis, /apis/GROUP, /apis/GROUP/VERSION, and the root path list.

Groups come from the kinds the fake serves (proxy.testing.kinds) plus the review APIs;
an unknown group is Go's plain-text 404, an unknown version of a known group (or of /api)
the Status 404. A request that asks for aggregated discovery in Accept is answered by
proxy.testing.aggregated_discovery.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import hdrs, web

from proxy.testing import aggregated_discovery, status
from proxy.testing import protobuf_encoding as pb
from proxy.testing.kinds import KINDS, ResourceKind
from proxy.testing.responses import json_response
from proxy.testing.state import STATE
from proxy.testing.status import JSONObject

GIT_VERSION = "v1.32.13"
VERSION_INFO: JSONObject = {
    "major": "1",
    "minor": "32",
    "gitVersion": GIT_VERSION,
    "gitCommit": "2ec23bae7a2a4bbac36d5ac04ee2a8a8ff1d4eb0",
    "gitTreeState": "clean",
    "buildDate": "2026-11-12T10:14:02Z",
    "goVersion": "go1.24.9",
    "compiler": "gc",
    "platform": "linux/amd64",
}
AUTHENTICATION_GROUP = "authentication.k8s.io"
AUTHORIZATION_GROUP = "authorization.k8s.io"
_SUBRESOURCE_VERBS = {
    "log": ("get",),
    "exec": ("create", "get"),
    "attach": ("create", "get"),
    "portforward": ("create", "get"),
    "proxy": ("create", "delete", "get", "patch", "update"),
    "binding": ("create",),
    "eviction": ("create",),
    "token": ("create",),
}
_SUBRESOURCE_KINDS = {
    "exec": "PodExecOptions",
    "attach": "PodAttachOptions",
    "portforward": "PodPortForwardOptions",
    "proxy": "PodProxyOptions",
    "binding": "Binding",
    "eviction": "Eviction",
    "token": "TokenRequest",
    "scale": "Scale",
}


@dataclass(frozen=True)
class Resource:
    """One entry of an APIResourceList."""

    name: str
    singular: str
    kind: str
    namespaced: bool
    verbs: tuple[str, ...]
    short_names: tuple[str, ...] = ()

    def to_json(self) -> JSONObject:
        entry: JSONObject = {
            "name": self.name,
            "singularName": self.singular,
            "namespaced": self.namespaced,
            "kind": self.kind,
            "verbs": list(self.verbs),
        }
        if self.short_names:
            entry["shortNames"] = list(self.short_names)
        return entry


def _kind_resources(kind: ResourceKind) -> list[Resource]:
    resources = [
        Resource(kind.plural, kind.singular, kind.kind, kind.namespaced, kind.verbs,
                 kind.short_names)
    ]
    for sub in kind.subresources:
        verbs = _SUBRESOURCE_VERBS.get(sub, ("get", "patch", "update"))
        sub_kind = _SUBRESOURCE_KINDS.get(sub, kind.kind)
        resources.append(Resource(f"{kind.plural}/{sub}", "", sub_kind, kind.namespaced, verbs))
    return resources


def _review(name: str, kind: str, *, namespaced: bool = False) -> Resource:
    return Resource(name, name.removesuffix("s"), kind, namespaced, ("create",))


def served_groups() -> dict[str, dict[str, list[Resource]]]:
    """group -> version -> resources; "" is the core group."""
    groups: dict[str, dict[str, list[Resource]]] = {}
    for kind in KINDS.values():
        version = groups.setdefault(kind.group, {}).setdefault(kind.version, [])
        version.extend(_kind_resources(kind))
    groups[AUTHENTICATION_GROUP] = {
        "v1": [
            _review("selfsubjectreviews", "SelfSubjectReview"),
            _review("tokenreviews", "TokenReview"),
        ]
    }
    groups[AUTHORIZATION_GROUP] = {
        "v1": [
            _review("localsubjectaccessreviews", "LocalSubjectAccessReview", namespaced=True),
            _review("selfsubjectaccessreviews", "SelfSubjectAccessReview"),
            _review("selfsubjectrulesreviews", "SelfSubjectRulesReview"),
            _review("subjectaccessreviews", "SubjectAccessReview"),
        ]
    }
    return groups


def _group(name: str, versions: list[str]) -> JSONObject:
    entries = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
    return {"name": name, "versions": entries, "preferredVersion": entries[0]}


def _named_groups() -> list[JSONObject]:
    return [
        _group(name, list(versions)) for name, versions in served_groups().items() if name
    ]


def _wants_protobuf(request: web.Request) -> bool:
    for entry in request.headers.get(hdrs.ACCEPT, "").split(","):
        media_type = entry.split(";")[0].strip().lower()
        if media_type == pb.PROTOBUF:
            return True
        if media_type in ("application/json", "application/*", "*/*"):
            return False
    return False


def _document(request: web.Request, document: JSONObject) -> web.Response:
    """JSON, or protobuf when Accept prefers it (discovery documents have both)."""
    if _wants_protobuf(request):
        return web.Response(body=pb.encode_discovery(document), content_type=pb.PROTOBUF)
    return json_response(request, document)


async def handle_root(request: web.Request) -> web.Response:
    """GET /: every path the server serves, as a sorted list."""
    paths = {"/api", "/api/v1", "/apis", "/healthz", "/livez", "/readyz", "/metrics",
             "/openapi/v2", "/openapi/v3", "/openapi/v3/", "/version",
             "/.well-known/openid-configuration", "/openid/v1/jwks"}
    for name, versions in served_groups().items():
        if name:
            paths.add(f"/apis/{name}")
            paths.update(f"/apis/{name}/{v}" for v in versions)
    return json_response(request, {"paths": sorted(paths)})


async def handle_api(request: web.Request) -> web.StreamResponse:
    aggregated = aggregated_discovery.respond(request, served_groups(), core=True)
    if aggregated is not None:
        return aggregated
    address = request.app[STATE].server_address
    return _document(
        request,
        {
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": address}],
        },
    )


def _resource_list(group_version: str, resources: list[Resource]) -> JSONObject:
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": [r.to_json() for r in resources],
    }


async def handle_api_version(request: web.Request) -> web.Response:
    version = request.match_info["version"]
    resources = served_groups()[""].get(version)
    if resources is None:
        raise status.resource_not_found()
    body = _resource_list(version, resources)
    del body["apiVersion"]  # the core list has none, as kube-apiserver writes it
    return _document(request, body)


async def handle_apis(request: web.Request) -> web.StreamResponse:
    aggregated = aggregated_discovery.respond(request, served_groups(), core=False)
    if aggregated is not None:
        return aggregated
    return _document(
        request, {"kind": "APIGroupList", "apiVersion": "v1", "groups": _named_groups()}
    )


async def handle_group(request: web.Request) -> web.Response:
    name = request.match_info["group"]
    versions = served_groups().get(name)
    if not name or versions is None:
        raise web.HTTPNotFound()
    return _document(request, {"kind": "APIGroup", "apiVersion": "v1",
                               **_group(name, list(versions))})


async def handle_group_version(request: web.Request) -> web.Response:
    name, version = request.match_info["group"], request.match_info["version"]
    versions = served_groups().get(name)
    if not name or versions is None:
        raise web.HTTPNotFound()
    if version not in versions:
        raise status.resource_not_found()
    return _document(request, _resource_list(f"{name}/{version}", versions[version]))
