"""From `SecurityConfig` to the pieces that guard requests: authn, authz, audit, TLS.

Each piece is None when its feature is off, so the wrappers in `app` leave it out, and
its module is imported only when it is on (start-up pays for what is configured).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, get_args

from proxy.authn.middleware import (
    Authenticator,
    ClientCertificateAuthenticator,
    TokenReviewAuthenticator,
)
from proxy.authz.middleware import Decide, static_decider
from proxy.config import AuthnMode, AuthzMode, ForwardAs, ListenConfig, SecurityConfig
from proxy.errors import ConfigError
from proxy.serving.listener_tls import ListenerTLS, check_exposure
from proxy.upstream.session import Upstream

if TYPE_CHECKING:
    from proxy.authn.tokenreview import TokenReviewer
    from proxy.authz.subjectaccessreview import SubjectAccessReviewer

log = logging.getLogger(__name__)

AUTHN_MODES = get_args(AuthnMode)
AUTHZ_MODES = get_args(AuthzMode)
FORWARD_AS = get_args(ForwardAs)


@dataclass(frozen=True)
class Guards:
    authenticator: Authenticator | None
    decide: Decide | None
    impersonate_caller: bool
    listener_tls: ListenerTLS | None
    token_reviewer: TokenReviewer | None = None
    access_reviewer: SubjectAccessReviewer | None = None


def build_guards(
    security: SecurityConfig, listen: ListenConfig, upstream: Callable[[], Upstream]
) -> Guards:
    """Validate the combination and build each piece; errors name the flag."""
    for value, allowed, flag in ((security.authn, AUTHN_MODES, "--authn"),
                                 (security.authz, AUTHZ_MODES, "--authz"),
                                 (security.forward_as, FORWARD_AS, "--forward-as")):
        if value not in allowed:
            raise ConfigError(f"{flag} {value!r}: use one of {', '.join(allowed)}")
    authenticated = security.authn != "none"
    if (security.authz != "none" or security.policy) and not authenticated:
        raise ConfigError("--authz and --policy need to know the caller: add --authn")
    if security.forward_as == "caller" and not authenticated:
        raise ConfigError("--forward-as caller needs to know the caller: add --authn")
    check_exposure(address=listen.address, unix_socket=listen.unix_socket is not None,
                   authenticated=authenticated,
                   allow_unauthenticated=security.insecure_allow_unauthenticated)
    listener_tls = None
    if security.tls_cert_file or security.tls_private_key_file:
        if not (security.tls_cert_file and security.tls_private_key_file):
            raise ConfigError("--tls-cert-file and --tls-private-key-file go together")
        listener_tls = ListenerTLS(cert_file=security.tls_cert_file,
                                   key_file=security.tls_private_key_file,
                                   client_ca_file=security.client_ca_file)
    elif security.client_ca_file:
        raise ConfigError("--client-ca-file needs a TLS listener: add --tls-cert-file and "
                          "--tls-private-key-file")
    if security.authn == "client-cert" and not security.client_ca_file:
        raise ConfigError("--authn client-cert needs --client-ca-file to verify certificates")

    async def own_call(method: str, path: str, body: Any) -> tuple[int, Any]:
        # Reviews are the proxy's own requests, made with its own (current) credential.
        current = upstream()
        return await current.request_json(method, path, body, current.credentials)

    reviewer = None
    authenticator: Authenticator | None = None
    if security.authn == "tokenreview":
        from proxy.authn.review_rate import ReviewRateLimiter
        from proxy.authn.tokenreview import TokenReviewer

        reviewer = TokenReviewer(call=own_call, audiences=security.authn_audiences,
                                 cache_ttl=security.authn_cache_ttl)
        limiter = None
        if security.authn_review_qps > 0:
            limiter = ReviewRateLimiter(rate=security.authn_review_qps,
                                        burst=security.authn_review_burst)
        authenticator = TokenReviewAuthenticator(reviewer, limiter=limiter)
    elif security.authn == "client-cert":
        authenticator = ClientCertificateAuthenticator()
    decide: Decide | None = None
    access_reviewer = None
    if security.policy is not None:
        from proxy.authz.policy import load_policy

        decide = static_decider(load_policy(security.policy).allows)
    elif security.authz == "subjectaccessreview":
        from proxy.authz.subjectaccessreview import SubjectAccessReviewer

        access_reviewer = SubjectAccessReviewer(call=own_call)
        decide = access_reviewer.allows
    return Guards(
        authenticator=authenticator, decide=decide,
        impersonate_caller=security.forward_as == "caller", listener_tls=listener_tls,
        token_reviewer=reviewer, access_reviewer=access_reviewer,
    )


