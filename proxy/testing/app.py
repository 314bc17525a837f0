"""The aiohttp application: middleware order and the route table, read as a table of contents."""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Handler

from proxy.testing import discovery, group_routes, openapi, server_info, status, tokens
from proxy.testing.filters import add_common_headers, authenticate_and_authorize, no_server_header
from proxy.testing.resources import handle_resource
from proxy.testing.responses import error_response
from proxy.testing.state import STATE, ServerState


@web.middleware
async def status_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """APIError -> Status JSON; unknown paths get Go's plain `404 page not found`, a path
    served for other methods the Status 405."""
    try:
        return await handler(request)
    except status.APIError as error:
        return error_response(error, request)
    except web.HTTPNotFound:
        return server_info.not_found()
    except web.HTTPMethodNotAllowed:
        return error_response(status.method_not_allowed())


def build_app(state: ServerState) -> web.Application:
    app = web.Application(middlewares=[status_errors, authenticate_and_authorize])
    app[STATE] = state
    app.on_response_prepare.append(add_common_headers)
    app.on_response_prepare.append(no_server_header)
    route = app.router.add_route
    route("GET", "/", discovery.handle_root)
    for version in ("/version", "/version/"):
        route("*", version, server_info.handle_version)
    for endpoint in ("healthz", "livez", "readyz"):
        route("*", f"/{{endpoint:{endpoint}}}", server_info.handle_health)
        route("*", f"/{{endpoint:{endpoint}}}/{{check:.+}}", server_info.handle_health)
    route("GET", "/metrics", server_info.handle_metrics)
    route("GET", "/openid/v1/jwks", server_info.handle_jwks)
    route("GET", "/.well-known/openid-configuration", server_info.handle_openid_configuration)
    route("*", "/api", discovery.handle_api)
    route("*", "/api/{version}", discovery.handle_api_version)
    route(
        "POST", "/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token",
        tokens.handle_token_request,
    )
    route("*", "/api/v1/{tail:.+}", handle_resource)
    route("*", "/api/{version}/{tail:.*}", group_routes.handle_core_version)
    route("*", "/apis", discovery.handle_apis)
    route("*", "/apis/{group}", discovery.handle_group)
    route("*", "/apis/{group}/{version}", discovery.handle_group_version)
    route("*", "/apis/{group}/{version}/{tail:.+}", group_routes.handle_group_resource)
    route("GET", "/openapi/v2", openapi.handle_openapi_v2)
    route("GET", "/openapi/v3", openapi.handle_openapi_v3_index)
    route("GET", "/openapi/v3/{path:.+}", openapi.handle_openapi_v3_document)
    return app
