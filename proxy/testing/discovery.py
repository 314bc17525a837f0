"""Version, health and the legacy (unaggregated) discovery documents kubectl and clients read.

Aggregated discovery (apidiscovery.k8s.io) is not offered: clients that ask for it
first get plain APIVersions/APIGroupList JSON and fall back, as with older servers.
"""

from __future__ import annotations

from aiohttp import web

from proxy.testing.kinds import KINDS, ResourceKind
from proxy.testing.responses import json_response
from proxy.testing.state import STATE
from proxy.testing.status import JSONObject

GIT_VERSION = "v1.32.0"
VERSION_INFO: JSONObject = {
    "major": "1",
    "minor": "32",
    "gitVersion": GIT_VERSION,
    "gitCommit": "70d3cc986aa8221cd1dfb1121852688902d3bf53",
    "gitTreeState": "clean",
    "buildDate": "2024-12-11T17:59:15Z",
    "goVersion": "go1.23.3",
    "compiler": "gc",
    "platform": "linux/amd64",
}
# Groups besides the core one: name -> (version, resources as (plural, singular, kind)).
AUTHENTICATION_GROUP = "authentication.k8s.io"
EXTRA_GROUPS: dict[str, tuple[str, tuple[tuple[str, str, str], ...]]] = {
    AUTHENTICATION_GROUP: (
        "v1",
        (
            ("selfsubjectreviews", "selfsubjectreview", "SelfSubjectReview"),
            ("tokenreviews", "tokenreview", "TokenReview"),
        ),
    ),
}


def _resource_entries(kind: ResourceKind) -> list[JSONObject]:
    entry: JSONObject = {
        "name": kind.plural,
        "singularName": kind.singular,
        "namespaced": kind.namespaced,
        "kind": kind.kind,
        "verbs": list(kind.verbs),
    }
    if kind.short_names:
        entry["shortNames"] = list(kind.short_names)
    entries = [entry]
    for sub in kind.subresources:
        verbs = {"log": ["get"], "exec": ["create", "get"]}.get(sub, ["get", "patch", "update"])
        entries.append(
            {
                "name": f"{kind.plural}/{sub}",
                "singularName": "",
                "namespaced": kind.namespaced,
                "kind": "PodExecOptions" if sub == "exec" else kind.kind,
                "verbs": verbs,
            }
        )
    return entries


async def handle_version(request: web.Request) -> web.Response:
    return json_response(request, VERSION_INFO)


async def handle_health(request: web.Request) -> web.Response:
    return web.Response(text="ok", content_type="text/plain")


async def handle_api(request: web.Request) -> web.Response:
    address = request.app[STATE].server_address
    return json_response(
        request,
        {
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": address}],
        },
    )


async def handle_api_v1(request: web.Request) -> web.Response:
    resources = [entry for kind in KINDS.values() for entry in _resource_entries(kind)]
    return json_response(
        request,
        {"kind": "APIResourceList", "groupVersion": "v1", "resources": resources},
    )


def _group(name: str, version: str) -> JSONObject:
    group_version = {"groupVersion": f"{name}/{version}", "version": version}
    return {"name": name, "versions": [group_version], "preferredVersion": group_version}


async def handle_apis(request: web.Request) -> web.Response:
    groups = [_group(name, version) for name, (version, _) in EXTRA_GROUPS.items()]
    return json_response(request, {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})


async def handle_group(request: web.Request) -> web.Response:
    name = request.match_info["group"]
    if name not in EXTRA_GROUPS:
        raise web.HTTPNotFound()
    group = _group(name, EXTRA_GROUPS[name][0])
    return json_response(request, {"kind": "APIGroup", "apiVersion": "v1", **group})


async def handle_group_version(request: web.Request) -> web.Response:
    name, version = request.match_info["group"], request.match_info["version"]
    if name not in EXTRA_GROUPS or EXTRA_GROUPS[name][0] != version:
        raise web.HTTPNotFound()
    resources = [
        {
            "name": plural,
            "singularName": singular,
            "namespaced": False,
            "kind": kind,
            "verbs": ["create"],
        }
        for plural, singular, kind in EXTRA_GROUPS[name][1]
    ]
    return json_response(
        request,
        {
            "kind": "APIResourceList",
            "apiVersion": "v1",
            "groupVersion": f"{name}/{version}",
            "resources": resources,
        },
    )
