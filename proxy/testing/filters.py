"""The apiserver's handler chain in front of every route: authentication, impersonation,
authorization, and the headers every answer carries (Cache-Control, Warning).

Order as in k8s.io/apiserver DefaultBuildHandlerChain: a failed credential is a 401 even
for public paths, impersonation is checked before the request's own authorization, and
only then does the route (or its 404) run.
"""

from __future__ import annotations

import asyncio

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler

from proxy.testing import status
from proxy.testing.impersonation import ImpersonationError, impersonated, internal_error
from proxy.testing.rbac import check_access
from proxy.testing.recording import RecordedRequest
from proxy.testing.request_info import request_info
from proxy.testing.responses import error_response
from proxy.testing.state import STATE, USER_KEY

WARNINGS_KEY = web.RequestKey("fake_apiserver_warnings", list)
# Set on responses written as raw handshake answers: no headers of the handler chain.
RAW_KEY = web.RequestKey("fake_apiserver_raw_response", bool)
# Sec-WebSocket-Protocol as rewritten by the bearer-subprotocol authenticator.
WEBSOCKET_PROTOCOLS_KEY = web.RequestKey("fake_apiserver_websocket_protocols", tuple)
DEFAULT_CACHE_CONTROL = "no-cache, private"


@web.middleware
async def authenticate_and_authorize(
    request: web.Request, handler: Handler
) -> web.StreamResponse:
    """Record every request with its user; 401, 403 or the impersonation 500 before routing."""
    state = request.app[STATE]
    authentication = state.authenticator.authenticate(request)
    request[WARNINGS_KEY] = list(authentication.warnings)
    if authentication.websocket_protocols is not None:
        request[WEBSOCKET_PROTOCOLS_KEY] = authentication.websocket_protocols
    requester = authentication.user
    if requester is None:
        state.requests.append(RecordedRequest.of(request, user=None))
        return error_response(status.unauthorized())
    try:
        user = impersonated(request, requester, state.rbac)
        info = request_info(request.method, request.path, request.query_string)
        check_access(user, info, state.rbac)
    except ImpersonationError as error:
        state.requests.append(RecordedRequest.of(request, user=requester.name))
        return internal_error(request, error)
    except status.APIError as error:
        state.requests.append(RecordedRequest.of(request, user=requester.name))
        response = error_response(error)
        if error.code == 403:
            response.headers["X-Content-Type-Options"] = "nosniff"
        return response
    state.requests.append(RecordedRequest.of(request, user=user.name))
    request[USER_KEY] = user
    delay = state.slow_paths.get(request.path)
    if delay:
        await asyncio.sleep(delay)
    return await handler(request)


async def no_server_header(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: a kube-apiserver (Go's net/http) names no `Server`; aiohttp would."""
    response.headers.popall(hdrs.SERVER, None)


async def add_common_headers(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: Cache-Control unless the handler chose one, and any Warning."""
    if request.get(RAW_KEY) or response.status == 101:
        return
    response.headers.setdefault(hdrs.CACHE_CONTROL, DEFAULT_CACHE_CONTROL)
    for warning in request.get(WARNINGS_KEY, ()):
        quoted = warning.replace("\\", "\\\\").replace('"', '\\"')  # strconv.Quote
        response.headers.add(hdrs.WARNING, f'299 - "{quoted}"')
