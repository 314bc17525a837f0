"""What a request asks to do, read off its path as the apiserver's RequestInfoFactory reads it.

Authorization, impersonation and the Forbidden messages all start from this: verb,
API group and version, namespace, resource, subresource and name, or a plain path
for non-resource requests (/healthz, /version, discovery).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote

API_PREFIXES = frozenset({"api", "apis"})
GROUPLESS_PREFIXES = frozenset({"api"})
SPECIAL_VERBS = frozenset({"proxy", "watch"})
NAMESPACE_SUBRESOURCES = frozenset({"status", "finalize"})
_METHOD_VERBS = {
    "POST": "create",
    "GET": "get",
    "HEAD": "get",
    "PUT": "update",
    "PATCH": "patch",
    "DELETE": "delete",
}


@dataclass(frozen=True)
class RequestInfo:
    """The authorizer's view of one request."""

    verb: str
    path: str
    resource_request: bool = False
    api_group: str = ""
    api_version: str = ""
    namespace: str = ""
    resource: str = ""
    subresource: str = ""
    name: str = ""


def go_bool(values: list[str]) -> bool:
    """A bool query parameter as meta/v1's converter reads it: only `0` and `false` (any
    case) are false; anything else, even `no` or empty, is true; absent is false."""
    return bool(values) and values[0].lower() not in ("0", "false")


def watch_requested(query: Iterable[tuple[str, str]]) -> bool:
    return go_bool([value for key, value in query if key == "watch"])


def _name_from_field_selector(query: list[tuple[str, str]]) -> str:
    selectors = [value for key, value in query if key == "fieldSelector"]
    if not selectors:
        return ""
    terms = [t.strip() for t in selectors[0].split(",") if t.strip()]
    for term in terms:
        for operator in ("==", "="):
            key, sep, value = term.partition(operator)
            if sep and key.strip() == "metadata.name" and not key.endswith("!"):
                name = value.strip()
                return name if name not in (".", "..") and "/" not in name else ""
    return ""


def request_info(method: str, path: str, query_string: str) -> RequestInfo:
    """Parse like k8s.io/apiserver/pkg/endpoints/request.RequestInfoFactory."""
    decoded = unquote(path)
    non_resource = RequestInfo(verb=method.lower(), path=decoded)
    parts = [p for p in decoded.strip("/").split("/")] if decoded.strip("/") else []
    if len(parts) < 3 or parts[0] not in API_PREFIXES:
        return non_resource
    prefix, parts = parts[0], parts[1:]
    group = ""
    if prefix not in GROUPLESS_PREFIXES:
        if len(parts) < 3:
            return non_resource
        group, parts = parts[0], parts[1:]
    version, parts = parts[0], parts[1:]
    if parts and parts[0] in SPECIAL_VERBS:
        if len(parts) < 2:
            return non_resource
        verb, parts = parts[0], parts[1:]
    else:
        verb = _METHOD_VERBS.get(method, "")
    namespace = ""
    if len(parts) > 1 and parts[0] == "namespaces":
        namespace = parts[1]
        if len(parts) > 2 and parts[2] not in NAMESPACE_SUBRESOURCES:
            parts = parts[2:]
    resource = parts[0] if parts else ""
    name = parts[1] if len(parts) >= 2 else ""
    subresource = parts[2] if len(parts) >= 3 and verb != "proxy" else ""
    query = parse_qsl(query_string, keep_blank_values=True)
    if not name and verb == "get":
        verb = "watch" if watch_requested(query) else "list"
        name = _name_from_field_selector(query)
    if not name and verb == "delete":
        verb = "deletecollection"
    return RequestInfo(
        verb=verb,
        path=decoded,
        resource_request=True,
        api_group=group,
        api_version=version,
        namespace=namespace,
        resource=resource,
        subresource=subresource,
        name=name,
    )
