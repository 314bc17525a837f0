"""The application, assembled: read it as the table of contents of a request's path.

Outermost first: errors become `Status` responses; each request is audited
(`--audit-log`); a client's concurrent requests are capped; the API prefix is
stripped; the filter rejects what kubectl proxy would (and WebSockets from
pages it does not accept); the caller is authenticated, then authorized
(`--authn`, `--authz`, `--policy`); then upgrades are spliced through, WebSocket
watches served by the proxy, and the forwarder sends the rest to the API server. Static files
(`--www`) sit beside the API, unfiltered, as in kubectl proxy.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from aiohttp import web
from yarl import URL

from proxy.audit import with_audit
from proxy.authn.middleware import with_authentication
from proxy.authz.middleware import with_authorization
from proxy.config import SecurityConfig, ServeConfig
from proxy.errors import ProxyError
from proxy.filters import Handler, RequestFilter, with_filter
from proxy.forward import ForwardHandler
from proxy.guard import with_client_limit
from proxy.security import Guards
from proxy.status import status_response
from proxy.upgrade import UpgradeHandler, upgrade_protocol
from proxy.upstream import Upstream
from proxy.watch import WatchHandler
from proxy.watch_resume import is_watch_request

log = logging.getLogger(__name__)

UPSTREAM = web.AppKey("upstream", Upstream)


def build_app(
    serve: ServeConfig,
    upstream: Upstream,
    *,
    security: SecurityConfig | None = None,
    guards: Guards | None = None,
) -> web.Application:
    security = security or SecurityConfig()
    app = web.Application(middlewares=[status_errors])
    app[UPSTREAM] = upstream
    app.cleanup_ctx.append(_upstream_session)

    request_filter = RequestFilter.from_config(serve.filter) if serve.filter else None
    if request_filter is None:
        log.warning(
            "Request filter disabled, your proxy is vulnerable to XSRF attacks, please be cautious"
        )
    watch = WatchHandler(upstream, ping_interval=serve.ws_ping_interval)
    handler: Handler = by_kind(
        forward=ForwardHandler(upstream, max_body_bytes=security.max_body_bytes).handle,
        upgrade=UpgradeHandler(upstream).handle,
        websocket_watch=watch.websocket,
        chunked_watch=watch.chunked if serve.watch_resume else None,
    )
    if guards is not None:
        handler = with_authorization(handler, guards.decide)
        handler = with_authentication(
            handler, guards.authenticator, impersonate_caller=guards.impersonate_caller
        )
    handler = with_filter(handler, request_filter)
    handler = with_api_prefix(handler, serve.api_prefix)
    handler = with_client_limit(handler, security.max_requests_per_client)
    if security.audit_log is not None:
        acting = "caller" if guards is not None and guards.impersonate_caller else "proxy"
        kind = upstream.credentials.kind
        handler = with_audit(handler, acting=lambda request: f"{acting}:{kind}")

    if serve.www_dir is not None:
        app.router.add_static(serve.www_prefix, serve.www_dir, show_index=True)
    app.router.add_route("*", "/{path:.*}", handler)
    return app


async def _upstream_session(app: web.Application) -> AsyncIterator[None]:
    await app[UPSTREAM].start()
    yield
    await app[UPSTREAM].close()


def by_kind(
    *,
    forward: Handler,
    upgrade: Handler,
    websocket_watch: Handler,
    chunked_watch: Handler | None,
) -> Handler:
    """Upgrades are spliced, WebSocket watches served by the proxy, the rest forwarded."""

    async def route(request: web.Request) -> web.StreamResponse:
        protocol = upgrade_protocol(request.headers)
        watch = is_watch_request(request.method, request.path, request.query)
        if protocol is not None:
            is_websocket = protocol.lower() == "websocket"
            return await (websocket_watch if watch and is_websocket else upgrade)(request)
        if watch and chunked_watch is not None:
            return await chunked_watch(request)
        return await forward(request)

    return route


def with_api_prefix(handler: Handler, prefix: str) -> Handler:
    """Serve the API under `--api-prefix`, stripped before forwarding, as kubectl proxy does.

    kubectl leaves prefixes that start with /api in place. The prefix is
    matched on the raw path, so an escaped prefix is not the prefix.
    """
    if prefix == "/" or prefix.startswith("/api"):
        return handler
    bare = prefix.rstrip("/")

    async def stripped(request: web.Request) -> web.StreamResponse:
        raw = request.raw_path
        if not (raw == bare or raw.startswith((bare + "/", bare + "?"))):
            return status_response(404, f"{request.path} is outside --api-prefix {prefix}")
        rest = raw[len(bare) :]
        if not rest.startswith("/"):
            rest = "/" + rest
        return await handler(request.clone(rel_url=URL(rest, encoded=True)))

    return stripped


@web.middleware
async def status_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The proxy's own failures as Kubernetes `Status` JSON; never a traceback to the client."""
    try:
        return await handler(request)
    except ProxyError as exc:
        log.warning("%s %s: %s", request.method, request.path, exc)
        return status_response(exc.code, str(exc), reason=exc.reason)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return status_response(exc.status, exc.reason)
    except (ConnectionResetError, TimeoutError):
        raise
    except Exception:
        log.exception("%s %s: unexpected error", request.method, request.path)
        return status_response(500, "internal error in kube-auth-proxy; its log has the details")
