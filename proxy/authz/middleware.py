"""The authorization wrapper: an authenticated caller may do only what it is allowed to (403)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from proxy.authz.attributes import Attributes, request_attributes
from proxy.filters import Handler
from proxy.identity import Identity, identity_of
from proxy.status import status_response

log = logging.getLogger(__name__)

Decide = Callable[[Identity, Attributes], Awaitable[tuple[bool, str]]]


def with_authorization(handler: Handler, decide: Decide | None) -> Handler:
    if decide is None:
        return handler

    async def authorized(request: web.Request) -> web.StreamResponse:
        identity = identity_of(request)
        attributes = request_attributes(request.method, request.raw_path)
        if identity is None:
            return status_response(401, "Unauthorized")
        allowed, reason = await decide(identity, attributes)
        if not allowed:
            message = f'User "{identity.user}" cannot {attributes.describe()}'
            if reason:
                message += f": {reason}"
            log.info("forbidden: %s", message)
            return status_response(403, message)
        return await handler(request)

    return authorized


def static_decider(policy_allows: Callable[[Identity, Attributes], tuple[bool, str]]) -> Decide:
    async def decide(identity: Identity, attributes: Attributes) -> tuple[bool, str]:
        return policy_allows(identity, attributes)

    return decide
