"""The authentication wrapper: no identity, no request (401 `Status`)."""

from __future__ import annotations

import logging
from typing import Protocol

from aiohttp import web

from proxy.authn.client_cert import identity_from_peercert
from proxy.authn.tokenreview import TokenReviewer
from proxy.authn.tokens import bearer_token
from proxy.filters import Handler
from proxy.identity import ACTING_FOR, IDENTITY, Identity
from proxy.status import status_response

log = logging.getLogger(__name__)


class Authenticator(Protocol):
    """Finds the caller of a request; None (with a reason for the log) when there is none."""

    async def identify(self, request: web.Request) -> tuple[Identity | None, str]: ...


class TokenReviewAuthenticator:
    def __init__(self, reviewer: TokenReviewer):
        self.reviewer = reviewer

    async def identify(self, request: web.Request) -> tuple[Identity | None, str]:
        token = bearer_token(request.headers)
        if token is None:
            return None, "no bearer token"
        result = await self.reviewer.authenticate(token)
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
        identity, reason = await authenticator.identify(request)
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
