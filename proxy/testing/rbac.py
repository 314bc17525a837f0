"""A small RBAC for the fake API server: grants, the default (bootstrap) policy, and the
apiserver's Forbidden answers.

Written apart from the proxy's own policy code on purpose: the tests compare
the two, so they must not share a bug.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from proxy.testing import status
from proxy.testing.auth import AUTHENTICATED, UNAUTHENTICATED, User
from proxy.testing.request_info import RequestInfo

MASTERS = "system:masters"
SERVICE_ACCOUNTS = "system:serviceaccounts"


@dataclass(frozen=True)
class Grant:
    """Like a (Cluster)Role bound to subjects: `users`/`groups`, in `namespaces` (empty: all).

    `binding` names the ClusterRoleBinding (and its role) for the reason RBAC gives.
    """

    verbs: tuple[str, ...]
    users: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    api_groups: tuple[str, ...] = ("*",)
    resources: tuple[str, ...] = ("*",)
    namespaces: tuple[str, ...] = ()
    non_resource_urls: tuple[str, ...] = ()
    resource_names: tuple[str, ...] = ()
    binding: str = ""


# Kept for the tests that build requests by hand.
Request = RequestInfo


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str = ""


def _url_matches(pattern: str, path: str) -> bool:
    return pattern == path or pattern == "*" or (
        pattern.endswith("*") and path.startswith(pattern[:-1])
    )


def _resource_matches(grant: Grant, info: RequestInfo) -> bool:
    combined = info.resource + (f"/{info.subresource}" if info.subresource else "")
    return any(
        r == "*" or r == combined or (r == f"*/{info.subresource}" and info.subresource)
        for r in grant.resources
    )


@dataclass
class RBAC:
    grants: list[Grant] = field(default_factory=list)
    reviews: int = 0

    def allows(self, user: str, groups: tuple[str, ...], request: RequestInfo) -> bool:
        return self.decide(user, groups, request).allowed

    def decide(self, user: str, groups: tuple[str, ...], request: RequestInfo) -> Decision:
        """system:masters first (the privileged-group authorizer: no reason), then RBAC."""
        if MASTERS in groups:
            return Decision(True)
        for grant in self.grants:
            subject = self._subject(grant, user, groups)
            if subject and self._matches(grant, request):
                return Decision(True, self._reason(grant, subject))
        return Decision(False)

    @staticmethod
    def _subject(grant: Grant, user: str, groups: tuple[str, ...]) -> str:
        if user in grant.users:
            return f'User "{user}"'
        for group in grant.groups:
            if group in groups:
                return f'Group "{group}"'
        return ""

    @staticmethod
    def _reason(grant: Grant, subject: str) -> str:
        if not grant.binding:
            return "allowed by the fake RBAC"
        return (
            f'RBAC: allowed by ClusterRoleBinding "{grant.binding}" of ClusterRole '
            f'"{grant.binding}" to {subject}'
        )

    @staticmethod
    def _matches(grant: Grant, request: RequestInfo) -> bool:
        if "*" not in grant.verbs and request.verb not in grant.verbs:
            return False
        if not request.resource_request:
            return any(_url_matches(url, request.path) for url in grant.non_resource_urls)
        return (
            ("*" in grant.api_groups or request.api_group in grant.api_groups)
            and _resource_matches(grant, request)
            and (not grant.resource_names or request.name in grant.resource_names)
            and (not grant.namespaces or request.namespace in grant.namespaces)
        )

    def rules_for(self, user: User, namespace: str) -> list[Grant]:
        """The grants that apply to `user` in `namespace`, for SelfSubjectRulesReview."""
        return [
            grant
            for grant in self.grants
            if self._subject(grant, user.name, user.groups)
            and (not grant.namespaces or namespace in grant.namespaces)
        ]


def bootstrap_grants() -> list[Grant]:
    """The default ClusterRoleBindings every cluster has (plugin/pkg/auth/authorizer/rbac/
    bootstrappolicy): discovery and health for everyone, self-reviews for the authenticated."""
    public_info = ("/healthz", "/livez", "/readyz", "/version", "/version/")
    return [
        Grant(
            verbs=("create",),
            groups=(AUTHENTICATED,),
            api_groups=("authorization.k8s.io",),
            resources=("selfsubjectaccessreviews", "selfsubjectrulesreviews"),
            binding="system:basic-user",
        ),
        Grant(
            verbs=("create",),
            groups=(AUTHENTICATED,),
            api_groups=("authentication.k8s.io",),
            resources=("selfsubjectreviews",),
            binding="system:basic-user",
        ),
        Grant(
            verbs=("get",),
            groups=(AUTHENTICATED,),
            resources=(),
            non_resource_urls=(
                "/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/openapi",
                "/openapi/*", "/readyz", "/version", "/version/",
            ),
            binding="system:discovery",
        ),
        Grant(
            verbs=("get",),
            groups=(AUTHENTICATED, UNAUTHENTICATED),
            resources=(),
            non_resource_urls=public_info,
            binding="system:public-info-viewer",
        ),
        Grant(
            verbs=("get",),
            groups=(SERVICE_ACCOUNTS,),
            resources=(),
            non_resource_urls=(
                "/.well-known/openid-configuration", "/.well-known/openid-configuration/",
                "/openid/v1/jwks", "/openid/v1/jwks/",
            ),
            binding="system:service-account-issuer-discovery",
        ),
    ]


def default_policy() -> RBAC:
    """RBAC as a fresh cluster has it: system:masters may do anything, others only the
    bootstrap grants."""
    return RBAC(bootstrap_grants())


def forbidden(user: User, info: RequestInfo) -> status.APIError:
    """responsewriters.Forbidden: the message names the user, verb and what was refused."""
    if not info.resource_request:
        reason = f'User "{user.name}" cannot {info.verb} path "{info.path}"'
        return status.APIError(403, reason="Forbidden", message=f"forbidden: {reason}")
    resource = info.resource + (f"/{info.subresource}" if info.subresource else "")
    scope = (
        f'in the namespace "{info.namespace}"' if info.namespace else "at the cluster scope"
    )
    reason = (
        f'User "{user.name}" cannot {info.verb} resource "{resource}" in API group '
        f'"{info.api_group}" {scope}'
    )
    qualified = f"{info.resource}.{info.api_group}" if info.api_group else info.resource
    subject = f'{qualified} "{info.name}"' if info.name else qualified
    details: dict[str, str] = {}
    if info.name:
        details["name"] = info.name
    if info.api_group:
        details["group"] = info.api_group
    details["kind"] = info.resource
    return status.APIError(
        403, reason="Forbidden", message=f"{subject} is forbidden: {reason}", details=details
    )


def check_access(user: User, info: RequestInfo, rbac: RBAC | None) -> None:
    """403 unless `rbac` (None: everything allowed) lets `user` do what `info` says."""
    if rbac is None or rbac.allows(user.name, user.groups, info):
        return
    raise forbidden(user, info)
