"""Aggregated discovery (apidiscovery.k8s.io v2 and v2beta1): every group, version and
resource in one document, chosen by `Accept: application/json;g=apidiscovery.k8s.io;
v=v2;as=APIGroupDiscoveryList` (or the protobuf type with the same parameters).

Answered with `Cache-Control: public`, an ETag, `Vary: Accept` and 304 for a matching
If-None-Match. Asked only for an unknown version, with no plain type to fall back to,
the answer is 406.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from aiohttp import hdrs, web

from proxy.testing import protobuf_encoding as pb
from proxy.testing import status
from proxy.testing.negotiation import SUPPORTED_MEDIA_TYPES
from proxy.testing.responses import encode_json, error_response
from proxy.testing.status import JSONObject

GROUP = "apidiscovery.k8s.io"
VERSIONS = ("v2", "v2beta1")
AS = "APIGroupDiscoveryList"
_PLAIN = frozenset({"application/json", "application/*", "*/*", "application/yaml",
                    pb.PROTOBUF})


class Resource(Protocol):
    """What discovery knows of one resource (proxy.testing.discovery.Resource)."""

    @property
    def name(self) -> str: ...
    @property
    def singular(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def namespaced(self) -> bool: ...
    @property
    def verbs(self) -> tuple[str, ...]: ...
    @property
    def short_names(self) -> tuple[str, ...]: ...


Groups = Mapping[str, Mapping[str, Sequence[Resource]]]


def _parse(entry: str) -> tuple[str, dict[str, str]]:
    media_type, *raw = entry.split(";")
    params = {}
    for item in raw:
        key, _, value = item.partition("=")
        params[key.strip().lower()] = value.strip()
    return media_type.strip().lower(), params


def _choice(accept: str) -> tuple[str, str] | status.APIError | None:
    """(media type, version) for aggregated discovery; None for the plain documents;
    a 406 when only unknown aggregated versions were asked for."""
    asked_aggregated = False
    for entry in accept.split(","):
        media_type, params = _parse(entry)
        if params.get("g") == GROUP and params.get("as") == AS:
            asked_aggregated = True
            if params.get("v") in VERSIONS and media_type in ("application/json", pb.PROTOBUF):
                return media_type, params["v"]
            continue
        if media_type in _PLAIN and "as" not in params:
            return None
    if asked_aggregated:
        return status.not_acceptable(SUPPORTED_MEDIA_TYPES)
    return None


def _document(groups: Groups, *, core: bool, version: str) -> JSONObject:
    items = []
    for name, versions in groups.items():
        if bool(name) == core:
            continue
        items.append({
            "metadata": {"name": name, "creationTimestamp": None},
            "versions": [
                {"version": v, "resources": _resources(name, v, resources), "freshness": "Current"}
                for v, resources in versions.items()
            ],
        })
    return {"kind": AS, "apiVersion": f"{GROUP}/{version}", "metadata": {}, "items": items}


def _resources(group: str, version: str, resources: Sequence[Resource]) -> list[JSONObject]:
    top: dict[str, JSONObject] = {}
    for resource in resources:
        base, _, sub = resource.name.partition("/")
        kind = {"group": group, "version": version, "kind": resource.kind}
        if not sub:
            entry: dict[str, Any] = {
                "resource": base,
                "responseKind": kind,
                "scope": "Namespaced" if resource.namespaced else "Cluster",
                "singularResource": resource.singular,
                "verbs": list(resource.verbs),
            }
            if resource.short_names:
                entry["shortNames"] = list(resource.short_names)
            top[base] = entry
        elif base in top:
            top[base].setdefault("subresources", []).append(
                {"subresource": sub, "responseKind": kind, "verbs": list(resource.verbs)}
            )
    return list(top.values())


def _protobuf(document: JSONObject) -> bytes:
    """The list envelope with one item per group (name and versions only)."""
    def group(item: JSONObject) -> bytes:
        meta = pb.length_delimited(1, pb.object_meta(item["metadata"]))
        versions = b"".join(
            pb.length_delimited(2, pb.string(1, v["version"]) + pb.string(3, v["freshness"]))
            for v in item["versions"]
        )
        return meta + versions

    raw = pb.length_delimited(1, pb.list_meta({})) + b"".join(
        pb.length_delimited(2, group(item)) for item in document["items"]
    )
    return pb.envelope(document["apiVersion"], AS, raw)


def respond(request: web.Request, groups: Groups, *, core: bool) -> web.StreamResponse | None:
    """The aggregated answer to /api (core) or /apis, or None when Accept wants the plain one."""
    choice = _choice(request.headers.get(hdrs.ACCEPT, ""))
    if choice is None:
        return None
    if isinstance(choice, status.APIError):
        return error_response(choice)
    media_type, version = choice
    document = _document(groups, core=core, version=version)
    json_body = encode_json(document)
    etag = f'"{hashlib.sha512(json_body).hexdigest().upper()}"'
    headers = {hdrs.CACHE_CONTROL: "public", hdrs.ETAG: etag, hdrs.VARY: "Accept"}
    if request.headers.get(hdrs.IF_NONE_MATCH) == etag:
        return web.Response(status=304, headers=headers)
    body = json_body if media_type == "application/json" else _protobuf(document)
    response = web.Response(body=body, headers=headers)
    response.headers[hdrs.CONTENT_TYPE] = f"{media_type};g={GROUP};v={version};as={AS}"
    return response
