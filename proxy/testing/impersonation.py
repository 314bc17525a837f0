"""Impersonate-* headers, as the apiserver's WithImpersonation filter reads and checks them.

Each requested user, service account, group, extra value and uid is a separate
`impersonate` check; the first refused one is a 403 naming it. Groups, extras or a
uid without a user are refused with a plain-text 500, as the real filter does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import unquote

from aiohttp import web

from proxy.testing import status
from proxy.testing.auth import ANONYMOUS, AUTHENTICATED, UNAUTHENTICATED, User
from proxy.testing.rbac import RBAC, forbidden
from proxy.testing.request_info import RequestInfo

IMPERSONATE_USER = "Impersonate-User"
IMPERSONATE_GROUP = "Impersonate-Group"
IMPERSONATE_UID = "Impersonate-Uid"
IMPERSONATE_EXTRA_PREFIX = "impersonate-extra-"
AUTHENTICATION_V1 = "authentication.k8s.io/v1"
SERVICE_ACCOUNT_PREFIX = "system:serviceaccount:"


class ImpersonationError(Exception):
    """A malformed impersonation request: the filter answers a text/plain 500."""


@dataclass(frozen=True)
class _Reference:
    """v1.ObjectReference, printed as Go's %v prints it in the 500 message."""

    kind: str
    name: str
    namespace: str = ""
    api_version: str = ""
    field_path: str = ""

    def go_string(self) -> str:
        fields = (self.kind, self.namespace, self.name, "", self.api_version, "", self.field_path)
        return "{" + " ".join(fields) + "}"


def _requests(request: web.Request) -> list[_Reference]:
    references: list[_Reference] = []
    wanted_user = request.headers.get(IMPERSONATE_USER, "")
    if wanted_user:
        namespace, _, name = wanted_user.removeprefix(SERVICE_ACCOUNT_PREFIX).partition(":")
        if wanted_user.startswith(SERVICE_ACCOUNT_PREFIX) and namespace and name:
            references.append(_Reference("ServiceAccount", name, namespace=namespace))
        else:
            references.append(_Reference("User", wanted_user))
    references += [_Reference("Group", g) for g in request.headers.getall(IMPERSONATE_GROUP, ())]
    for header, value in request.headers.items():
        if header.lower().startswith(IMPERSONATE_EXTRA_PREFIX):
            key = unquote(header[len(IMPERSONATE_EXTRA_PREFIX) :].lower())
            references.append(
                _Reference("UserExtra", value, api_version=AUTHENTICATION_V1, field_path=key)
            )
    uid = request.headers.get(IMPERSONATE_UID, "")
    if uid:
        references.append(_Reference("UID", uid, api_version=AUTHENTICATION_V1))
    if references and not wanted_user:
        listed = " ".join(r.go_string() for r in references)
        raise ImpersonationError(f"requested [{listed}] without impersonating a user")
    return references


def _check(reference: _Reference, requester: User, rbac: RBAC | None) -> None:
    resource, group, subresource = {
        "ServiceAccount": ("serviceaccounts", "", ""),
        "User": ("users", "", ""),
        "Group": ("groups", "", ""),
        "UserExtra": ("userextras", "authentication.k8s.io", reference.field_path),
        "UID": ("uids", "authentication.k8s.io", ""),
    }[reference.kind]
    info = RequestInfo(
        verb="impersonate",
        path="",
        resource_request=True,
        api_group=group,
        api_version="v1",
        namespace=reference.namespace,
        resource=resource,
        subresource=subresource,
        name=reference.name,
    )
    if rbac is not None and not rbac.allows(requester.name, requester.groups, info):
        raise forbidden(requester, info)


def impersonated(request: web.Request, requester: User, rbac: RBAC | None) -> User:
    """The user the request acts as; `requester` itself when nothing is impersonated."""
    references = _requests(request)
    if not references:
        return requester
    name, uid = "", ""
    groups: list[str] = []
    extra: dict[str, list[str]] = {}
    groups_given = bool(request.headers.getall(IMPERSONATE_GROUP, ()))
    for reference in references:
        _check(reference, requester, rbac)
        if reference.kind == "ServiceAccount":
            name = f"{SERVICE_ACCOUNT_PREFIX}{reference.namespace}:{reference.name}"
            if not groups_given:
                groups = ["system:serviceaccounts", f"system:serviceaccounts:{reference.namespace}"]
        elif reference.kind == "User":
            name = reference.name
        elif reference.kind == "Group":
            groups.append(reference.name)
        elif reference.kind == "UserExtra":
            extra.setdefault(reference.field_path, []).append(reference.name)
        else:
            uid = reference.name
    if name != ANONYMOUS and not {AUTHENTICATED, UNAUTHENTICATED} & set(groups):
        groups.append(AUTHENTICATED)
    elif name == ANONYMOUS and UNAUTHENTICATED not in groups:
        groups.append(UNAUTHENTICATED)
    return User(name, tuple(groups), uid, tuple((k, tuple(v)) for k, v in extra.items()))


def internal_error(request: web.Request, error: Exception) -> web.Response:
    """responsewriters.InternalError: Go's http.Error, plain text naming the request URI."""
    message = f"Internal Server Error: {json.dumps(request.raw_path)}: {error}\n"
    return web.Response(
        status=500,
        text=message,
        content_type="text/plain",
        charset="utf-8",
        headers={"X-Content-Type-Options": "nosniff"},
    )


__all__ = ["ImpersonationError", "impersonated", "internal_error", "status"]
