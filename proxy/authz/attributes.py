"""A request's authorization attributes, worked out as the kube-apiserver's RequestInfoFactory does.

    /api/v1/namespaces/ns/pods/web/log  -> get pods/log "web" in namespace "ns"
    /apis/apps/v1/deployments?watch=1   -> watch deployments.apps in all namespaces
    /version                            -> get on the non-resource path /version
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote

_VERBS = {"POST": "create", "GET": "get", "HEAD": "get", "PUT": "update", "PATCH": "patch",
          "DELETE": "delete"}
_NAMESPACE_SUBRESOURCES = {"status", "finalize"}


@dataclass(frozen=True)
class Attributes:
    verb: str
    path: str
    resource_request: bool = False
    api_group: str = ""
    api_version: str = ""
    namespace: str = ""
    resource: str = ""
    subresource: str = ""
    name: str = ""

    def describe(self) -> str:
        """As the apiserver's forbidden message says it."""
        if not self.resource_request:
            return f'{self.verb} path "{self.path}"'
        resource = f"{self.resource}/{self.subresource}" if self.subresource else self.resource
        where = f' in the namespace "{self.namespace}"' if self.namespace else ""
        return f'{self.verb} resource "{resource}" in API group "{self.api_group}"{where}'


@functools.lru_cache(maxsize=4096)
def request_attributes(method: str, raw_path: str) -> Attributes:
    """Cached: clients ask for the same few paths over and over."""
    path, _, query = raw_path.partition("?")
    path = unquote(path)
    parts = [p for p in path.strip("/").split("/") if p]
    verb = _VERBS.get(method.upper(), method.lower())
    if len(parts) >= 2 and parts[0] == "api":
        group, version, rest = "", parts[1], parts[2:]
    elif len(parts) >= 3 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        group, version, rest = "", "", []
    if not rest:
        # Discovery and everything outside the API: the verb is the method, lowercased.
        return Attributes(verb=method.lower(), path=path or "/")
    watch = False
    if rest[0] == "watch":
        watch, rest = True, rest[1:]
    namespace = ""
    if rest and rest[0] == "namespaces" and len(rest) > 1:
        namespace = rest[1]
        if len(rest) > 2 and rest[2] not in _NAMESPACE_SUBRESOURCES:
            rest = rest[2:]
    resource = rest[0] if rest else ""
    name = rest[1] if len(rest) > 1 else ""
    subresource = rest[2] if len(rest) > 2 else ""
    values = parse_qs(query).get("watch", [])
    if values and values[0].lower() in ("1", "true"):
        watch = True
    if verb == "get" and not name:
        verb = "watch" if watch else "list"
    elif watch and verb == "get":
        verb = "watch"
    elif verb == "delete" and not name:
        verb = "deletecollection"
    return Attributes(
        verb=verb, path=path, resource_request=True, api_group=group, api_version=version,
        namespace=namespace, resource=resource, subresource=subresource, name=name,
    )
