"""The authorization wrapper: an authenticated caller may do only what it is allowed to (403)."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from proxy.authz.attributes import Attributes
from proxy.exchange import FORBIDDEN, UNAUTHENTICATED, note_refusal
from proxy.identity import Identity, identity_of
from proxy.routing.canonical import CanonicalRequest, canonical_of
from proxy.routing.filters import Handler
from proxy.routing.kind import RequestKind
from proxy.status import status_response

log = logging.getLogger(__name__)

Decide = Callable[[Identity, Attributes], Awaitable[tuple[bool, str]]]
# A WebSocket upgrade of these is a GET, but acts: the API server (1.31+,
# AuthorizePodWebsocketUpgradeCreatePermission) also requires `create` on them.
_ACTING_POD_SUBRESOURCES = frozenset({"exec", "attach", "portforward"})


def required_attributes(canonical: CanonicalRequest) -> list[Attributes]:
    """What the caller must be allowed, as the API server checks it, for this request."""
    attributes = canonical.attributes
    required = [attributes]
    if (
        canonical.kind is RequestKind.UPGRADE
        and attributes.verb == "get"
        and attributes.api_group == ""
        and attributes.resource == "pods"
        and attributes.subresource in _ACTING_POD_SUBRESOURCES
    ):
        required.append(dataclasses.replace(attributes, verb="create"))
    return required


def with_authorization(handler: Handler, decide: Decide | None) -> Handler:
    if decide is None:
        return handler

    async def authorized(request: web.Request) -> web.StreamResponse:
        identity = identity_of(request)
        if identity is None:
            note_refusal(request, UNAUTHENTICATED)
            return status_response(401, "Unauthorized")
        for attributes in required_attributes(canonical_of(request)):
            allowed, reason = await decide(identity, attributes)
            if not allowed:
                message = f'User "{identity.user}" cannot {attributes.describe()}'
                if reason:
                    message += f": {reason}"
                log.info("forbidden: %s", message)
                note_refusal(request, FORBIDDEN)
                return status_response(403, message)
        return await handler(request)

    return authorized


def static_decider(policy_allows: Callable[[Identity, Attributes], tuple[bool, str]]) -> Decide:
    async def decide(identity: Identity, attributes: Attributes) -> tuple[bool, str]:
        return policy_allows(identity, attributes)

    return decide
