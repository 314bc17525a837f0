"""A small RBAC for the fake API server: grants, impersonation, and SubjectAccessReview.

Written apart from the proxy's own policy code on purpose: the tests compare
the two, so they must not share a bug.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote

from aiohttp import web

from proxy.testing import status
from proxy.testing.auth import User
from proxy.testing.bodies import read_document
from proxy.testing.responses import json_response
from proxy.testing.state import STATE

_METHOD_VERBS = {"GET": "get", "HEAD": "get", "POST": "create", "PUT": "update",
                 "PATCH": "patch", "DELETE": "delete"}


@dataclass(frozen=True)
class Grant:
    """Like a (Cluster)Role bound to subjects: `users`/`groups`, in `namespaces` (empty: all)."""

    verbs: tuple[str, ...]
    users: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    api_groups: tuple[str, ...] = ("*",)
    resources: tuple[str, ...] = ("*",)
    namespaces: tuple[str, ...] = ()
    non_resource_urls: tuple[str, ...] = ()


@dataclass(frozen=True)
class Request:
    verb: str
    namespace: str = ""
    api_group: str = ""
    resource: str = ""
    subresource: str = ""
    name: str = ""
    path: str = ""  # set for non-resource requests


@dataclass
class RBAC:
    grants: list[Grant] = field(default_factory=list)
    reviews: int = 0

    def allows(self, user: str, groups: tuple[str, ...], request: Request) -> bool:
        return any(self._matches(grant, user, groups, request) for grant in self.grants)

    @staticmethod
    def _matches(grant: Grant, user: str, groups: tuple[str, ...], request: Request) -> bool:
        if user not in grant.users and not set(groups) & set(grant.groups):
            return False
        if "*" not in grant.verbs and request.verb not in grant.verbs:
            return False
        if request.path:
            return any(url == request.path or (url.endswith("*")
                       and request.path.startswith(url[:-1])) for url in grant.non_resource_urls)
        resource = request.resource + (f"/{request.subresource}" if request.subresource else "")
        return (("*" in grant.api_groups or request.api_group in grant.api_groups)
                and ("*" in grant.resources or resource in grant.resources)
                and (not grant.namespaces or request.namespace in grant.namespaces))


def describe(request: web.Request) -> Request:
    """What a request asks to do, by the apiserver's path conventions."""
    path = unquote(request.path)
    parts = [p for p in path.split("/") if p]
    verb = _METHOD_VERBS.get(request.method, request.method.lower())
    if parts[:1] == ["api"] and len(parts) > 2:
        group, rest = "", parts[2:]
    elif parts[:1] == ["apis"] and len(parts) > 3:
        group, rest = parts[1], parts[3:]
    else:
        return Request(verb=request.method.lower(), path=path)
    watch = rest[0] == "watch"
    rest = rest[1:] if watch else rest
    namespace = ""
    if len(rest) > 2 and rest[0] == "namespaces" and rest[2] not in ("status", "finalize"):
        namespace, rest = rest[1], rest[2:]
    elif len(rest) > 1 and rest[0] == "namespaces":
        namespace = rest[1]
    name = rest[1] if len(rest) > 1 else ""
    query = parse_qs(request.query_string)
    if query.get("watch", [""])[0] in ("1", "true"):
        watch = True
    if verb == "get" and not name:
        verb = "watch" if watch else "list"
    elif verb == "get" and watch:
        verb = "watch"
    elif verb == "delete" and not name:
        verb = "deletecollection"
    return Request(verb=verb, namespace=namespace, api_group=group, resource=rest[0],
                   subresource=rest[2] if len(rest) > 2 else "", name=name)


def impersonated(request: web.Request, user: User, rbac: RBAC | None) -> User:
    """The user a request acts as: `Impersonate-*` honoured when the caller may impersonate."""
    target = request.headers.get("Impersonate-User")
    if target is None:
        return user
    if rbac is not None and not rbac.allows(
        user.name, user.groups, Request(verb="impersonate", resource="users", name=target)
    ):
        raise status.APIError(
            403, reason="Forbidden",
            message=f'users "{target}" is forbidden: User "{user.name}" cannot '
            'impersonate resource "users" in API group "" at the cluster scope',
        )
    groups = tuple(request.headers.getall("Impersonate-Group", ()))
    return User(target, (*groups, "system:authenticated"))


def check_access(request: web.Request, user: User, rbac: RBAC | None) -> None:
    if rbac is None:
        return
    wanted = describe(request)
    if rbac.allows(user.name, user.groups, wanted):
        return
    what = (f'path "{wanted.path}"' if wanted.path else
            f'resource "{wanted.resource}" in API group "{wanted.api_group}"'
            + (f' in the namespace "{wanted.namespace}"' if wanted.namespace else ""))
    raise status.APIError(
        403, reason="Forbidden", message=f'User "{user.name}" cannot {wanted.verb} {what}'
    )


async def handle_subject_access_review(request: web.Request) -> web.Response:
    """POST /apis/authorization.k8s.io/v1/subjectaccessreviews."""
    state = request.app[STATE]
    body = await read_document(request)
    spec = body.get("spec") if isinstance(body, dict) else None
    if not isinstance(spec, dict):
        raise status.bad_request("the object provided is unrecognized "
                                 "(must be of type SubjectAccessReview)")
    rbac = state.rbac
    if rbac is not None:
        rbac.reviews += 1
    resource = spec.get("resourceAttributes")
    non_resource = spec.get("nonResourceAttributes")
    if isinstance(resource, dict):
        wanted = Request(verb=str(resource.get("verb", "")),
                         namespace=str(resource.get("namespace", "")),
                         api_group=str(resource.get("group", "")),
                         resource=str(resource.get("resource", "")),
                         subresource=str(resource.get("subresource", "")),
                         name=str(resource.get("name", "")))
    elif isinstance(non_resource, dict):
        wanted = Request(verb=str(non_resource.get("verb", "")),
                         path=str(non_resource.get("path", "")))
    else:
        raise status.bad_request("spec: resourceAttributes or nonResourceAttributes is required")
    groups = tuple(str(g) for g in spec.get("groups") or ())
    allowed = rbac is None or rbac.allows(str(spec.get("user", "")), groups, wanted)
    answer = {
        "kind": "SubjectAccessReview",
        "apiVersion": "authorization.k8s.io/v1",
        "metadata": {"creationTimestamp": None},
        "spec": spec,
        "status": {"allowed": allowed,
                   **({"reason": "allowed by the fake RBAC"} if allowed else {})},
    }
    return json_response(request, answer, status=201)
