"""The aiohttp application: middleware order and the route table, read as a table of contents."""

from __future__ import annotations

import asyncio

from aiohttp import web
from aiohttp.typedefs import Handler

from proxy.testing import discovery, openapi, rbac, reviews, status, tokens
from proxy.testing.recording import RecordedRequest
from proxy.testing.resources import handle_resource
from proxy.testing.responses import error_response
from proxy.testing.state import STATE, USER_KEY, ServerState


@web.middleware
async def status_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """APIError -> Status JSON; unknown paths get Go's plain `404 page not found`."""
    try:
        return await handler(request)
    except status.APIError as error:
        return error_response(error)
    except web.HTTPNotFound:
        return web.Response(status=404, text="404 page not found\n")


@web.middleware
async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Record every request with its user; 401 when no credential is accepted."""
    state = request.app[STATE]
    user = state.authenticator.authenticate(request)
    if user is not None:
        try:
            user = rbac.impersonated(request, user, state.rbac)
            rbac.check_access(request, user, state.rbac)
        except status.APIError as error:
            state.requests.append(RecordedRequest.of(request, user=user.name))
            return error_response(error)
    state.requests.append(RecordedRequest.of(request, user=user.name if user else None))
    if user is None:
        return error_response(status.unauthorized())
    request[USER_KEY] = user
    delay = state.slow_paths.get(request.path)
    if delay:
        await asyncio.sleep(delay)
    return await handler(request)


def build_app(state: ServerState) -> web.Application:
    app = web.Application(middlewares=[status_errors, authenticate])
    app[STATE] = state
    app.router.add_get("/version", discovery.handle_version)
    for health in ("/healthz", "/livez", "/readyz"):
        app.router.add_get(health, discovery.handle_health)
    app.router.add_get("/api", discovery.handle_api)
    app.router.add_get("/api/v1", discovery.handle_api_v1)
    app.router.add_post(
        "/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token", tokens.handle_token_request
    )
    app.router.add_route("*", "/api/v1/{tail:.+}", handle_resource)
    app.router.add_get("/apis", discovery.handle_apis)
    app.router.add_get("/apis/{group}", discovery.handle_group)
    app.router.add_get("/apis/{group}/{version}", discovery.handle_group_version)
    authn = f"/apis/{discovery.AUTHENTICATION_GROUP}/v1"
    app.router.add_post(f"{authn}/tokenreviews", reviews.handle_token_review)
    app.router.add_post(f"{authn}/selfsubjectreviews", reviews.handle_self_subject_review)
    app.router.add_post(
        "/apis/authorization.k8s.io/v1/subjectaccessreviews", rbac.handle_subject_access_review
    )
    app.router.add_get("/openapi/v2", openapi.handle_openapi_v2)
    app.router.add_get("/openapi/v3", openapi.handle_openapi_v3_index)
    app.router.add_get("/openapi/v3/{path:.+}", openapi.handle_openapi_v3_document)
    return app
