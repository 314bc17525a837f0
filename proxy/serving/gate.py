"""The gate in front of what the proxy answers itself: its `/-/` endpoints, `--www` files,
the `/clusters` list and its own 404s.

Those answers get the same two checks as the API: the Host must be one `--accept-hosts`
accepts (else a DNS-rebinding page reads them from loopback), and with `--authn` the caller
must be authenticated (else anyone who reaches a shared listener reads metrics, cluster
names and files). Authorization (`--authz`, `--policy`) judges what is sent to the API
server; an authenticated caller reads the proxy's own answers as a loopback user does.
"""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web
from aiohttp.typedefs import Middleware

from proxy.authn.middleware import Authenticator, with_authentication
from proxy.routing.filters import Handler, RequestFilter, with_host_filter

Gate = Callable[[Handler], Handler]


def build_gate(request_filter: RequestFilter | None, authenticator: Authenticator | None) -> Gate:
    """Host first (no review is spent on a request the filter refuses), then the caller.

    The proxy's own answers never go upstream, so the caller is not impersonated.
    """

    def gate(handler: Handler) -> Handler:
        return with_host_filter(with_authentication(handler, authenticator), request_filter)

    return gate


def gate_middleware(gate: Gate) -> Middleware:
    """The gate for every request an application routes (a sub-application's 404 and 405
    included), when its handlers are the router's rather than ours."""

    @web.middleware
    async def gated(request: web.Request, handler: Handler) -> web.StreamResponse:
        return await gate(handler)(request)

    return gated
