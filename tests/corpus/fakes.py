"""The fake API servers a replay runs against, set up as the recorded cluster was.

Two bearer tokens (`<admin>`: admin-token-user in system:masters; `<limited>`:
limited-user with only what every authenticated user gets), RBAC with the
bootstrap roles those users rely on, client certificates from the fake's own CA,
and, when the fake supports it, a second instance with a 4-second minimum request
timeout sharing the first one's store.
"""

from __future__ import annotations

import base64
import inspect
import re
import secrets
import ssl
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any

from proxy.testing import FakeAPIServer
from proxy.testing.auth import User
from proxy.testing.rbac import RBAC, Grant, default_policy

ADMIN_USER = "admin-token-user"
LIMITED_USER = "limited-user"
SHORT_TIMEOUT_SERVER = "short-timeout"
MIN_REQUEST_TIMEOUT_S = 4
API_AUDIENCE = "https://kubernetes.default.svc"

# kube-apiserver's bootstrap ClusterRoles, as far as the recorded users reach.
_DISCOVERY_URLS = (
    "/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/openapi", "/openapi/*",
    "/readyz", "/version", "/version/",
)
_PUBLIC_INFO_URLS = ("/healthz", "/livez", "/readyz", "/version", "/version/")


def bootstrap_rbac() -> RBAC:
    """system:masters may do anything; system:basic-user, system:discovery and
    system:public-info-viewer for the authenticated; public info for anonymous."""
    everything = {"verbs": ("*",), "non_resource_urls": ("*",)}
    return RBAC(grants=[
        Grant(users=(ADMIN_USER,), **everything),  # type: ignore[arg-type]
        Grant(groups=("system:masters",), **everything),  # type: ignore[arg-type]
        Grant(verbs=("create",), groups=("system:authenticated",),
              api_groups=("authentication.k8s.io",), resources=("selfsubjectreviews",)),
        Grant(verbs=("create",), groups=("system:authenticated",),
              api_groups=("authorization.k8s.io",),
              resources=("selfsubjectaccessreviews", "selfsubjectrulesreviews")),
        Grant(verbs=("get",), groups=("system:authenticated",), api_groups=(), resources=(),
              non_resource_urls=_DISCOVERY_URLS),
        Grant(verbs=("get",), groups=("system:unauthenticated",), api_groups=(), resources=(),
              non_resource_urls=_PUBLIC_INFO_URLS),
    ])


@dataclass
class Servers:
    """The running fakes, the tokens they accept and the client TLS contexts to use."""

    main: FakeAPIServer
    short_timeout: FakeAPIServer | None
    admin_token: str
    limited_token: str
    short_timeout_missing: str = ""  # why there is no short-timeout server
    _cert_contexts: dict[str, ssl.SSLContext] = field(default_factory=dict)

    def server_for(self, request: dict[str, Any]) -> FakeAPIServer | None:
        if request.get("server") == SHORT_TIMEOUT_SERVER:
            return self.short_timeout
        return self.main

    def ssl_context(self, server: FakeAPIServer, client_cert: str | None) -> ssl.SSLContext:
        """Trusting the fake's CA; presenting a client certificate when the case did.

        `client_cert` reads like "admin (CN=admin, O=system:masters)": CN is the user,
        each O a group.
        """
        if not client_cert:
            return server.client_ssl_context()
        key = f"{server.port}/{client_cert}"
        if key not in self._cert_contexts:
            user = re.search(r"CN=([^,)]+)", client_cert)
            groups = re.findall(r"\bO=([^,)]+)", client_cert)
            leaf = server.issue_client_cert(user.group(1).strip() if user else "unknown",
                                            groups=[g.strip() for g in groups])
            context = server.client_ssl_context()
            leaf.configure_cert(context)
            self._cert_contexts[key] = context
        return self._cert_contexts[key]

    @property
    def values(self) -> dict[str, str]:
        """The request placeholders known before anything is sent."""
        return {
            "<admin-token>": self.admin_token,
            "<limited-token>": self.limited_token,
            "<admin-token-base64url>": base64.urlsafe_b64encode(
                self.admin_token.encode()).decode().rstrip("="),
            # Sent as the recording sent it: every recorded WebSocket watch with this Origin
            # that got as far as the handshake was refused with x/net/websocket's bare 403,
            # which only an Origin that Go's url.ParseRequestURI rejects produces (a valid
            # foreign one, ws-watch-foreign-origin, got 101). So it was not filled in.
            "<server-origin>": "<server-origin>",
        }


def _supports(name: str) -> bool:
    return name in inspect.signature(FakeAPIServer.__init__).parameters


async def start_servers(stack: AsyncExitStack) -> Servers:
    admin_token = "admin-" + secrets.token_urlsafe(24)
    limited_token = "limited-" + secrets.token_urlsafe(24)
    tokens: dict[str, str | User] = {
        admin_token: User(ADMIN_USER, ("system:masters",), uid=f"uid-{ADMIN_USER}"),
        limited_token: User(LIMITED_USER, (), uid=f"uid-{LIMITED_USER}"),
    }
    # As recorded: anonymous requests allowed, RBAC with the bootstrap policy, one audience.
    recorded = {"anonymous": True, "api_audiences": (API_AUDIENCE,)}
    main = await stack.enter_async_context(
        FakeAPIServer(tokens=tokens, rbac=default_policy(), **recorded)  # type: ignore[arg-type]
    )
    short: FakeAPIServer | None = None
    missing = ""
    if _supports("min_request_timeout") and _supports("store"):
        short_server = FakeAPIServer(
            tokens=tokens, rbac=default_policy(), ca=main.ca,
            min_request_timeout=MIN_REQUEST_TIMEOUT_S, store=main.store,
            **recorded,  # type: ignore[arg-type]
        )
        short = await stack.enter_async_context(short_server)
    else:
        missing = ("the fake has no minimum request timeout option (FakeAPIServer("
                   "min_request_timeout=..., store=...)) to end watches after 4-8 s")
    return Servers(main=main, short_timeout=short, admin_token=admin_token,
                   limited_token=limited_token, short_timeout_missing=missing)
