"""The authentication wrapper: no identity, no request (401 `Status`); a client reviewing
too many unknown tokens, no review (429 `Status` with Retry-After)."""

from __future__ import annotations

import logging
import math
from functools import partial
from typing import TYPE_CHECKING, Protocol

from aiohttp import web

from proxy.authn.client_cert import identity_from_peercert
from proxy.authn.tokens import bearer_token
from proxy.errors import TooManyRequestsError
from proxy.identity import ACTING_FOR, IDENTITY, Identity
from proxy.routing.filters import Handler
from proxy.status import status_response

if TYPE_CHECKING:  # built by serving/guards.py only when --authn tokenreview is chosen
    from proxy.authn.review_rate import ReviewRateLimiter
    from proxy.authn.tokenreview import TokenReviewer

log = logging.getLogger(__name__)


class Authenticator(Protocol):
    """Finds the caller of a request; None (with a reason for the log) when there is none."""

    async def identify(self, request: web.Request) -> tuple[Identity | None, str]: ...


class TokenReviewAuthenticator:
    """Callers' bearer tokens, reviewed; with a `limiter`, unknown ones at a bounded rate per
    client address (`identify` raises `TooManyRequestsError` beyond it)."""

    def __init__(self, reviewer: TokenReviewer, *, limiter: ReviewRateLimiter | None = None):
        self.reviewer = reviewer
        self.limiter = limiter

    async def identify(self, request: web.Request) -> tuple[Identity | None, str]:
        token = bearer_token(request.headers)
        if token is None:
            return None, "no bearer token"
        admit = None
        if self.limiter is not None:
            admit = partial(self.limiter.take, request.remote or "unknown")
        result = await self.reviewer.authenticate(token, admit=admit)
        return result.identity, result.reason


class ClientCertificateAuthenticator:
    async def identify(self, request: web.Request) -> tuple[Identity | None, str]:
        transport = request.transport
        peercert = transport.get_extra_info("peercert") if transport is not None else None
        identity = identity_from_peercert(peercert)
        return identity, "" if identity else "no verified client certificate"


def with_authentication(
    handler: Handler, authenticator: Authenticator | None, *, impersonate_caller: bool = False
) -> Handler:
    """Set the caller's identity on the request, or answer 401; without authn, the bare handler.

    With `impersonate_caller`, everything the request sends upstream acts as the caller.
    """
    if authenticator is None:
        return handler

    async def authenticated(request: web.Request) -> web.StreamResponse:
        try:
            identity, reason = await authenticator.identify(request)
        except TooManyRequestsError as exc:
            log.info("throttled %s %s from %s: %s",
                     request.method, request.path, request.remote, exc)
            response = status_response(exc.code, str(exc), reason=exc.reason)
            response.headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after)))
            return response
        if identity is None:
            log.info("unauthenticated %s %s from %s: %s",
                     request.method, request.path, request.remote, reason)
            return status_response(401, "Unauthorized")
        request[IDENTITY] = identity
        if not impersonate_caller:
            return await handler(request)
        acting = ACTING_FOR.set(identity)
        try:
            return await handler(request)
        finally:
            ACTING_FOR.reset(acting)

    return authenticated
