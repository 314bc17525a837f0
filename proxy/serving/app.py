"""The application, assembled: read it as the table of contents of a request's path.

Outermost first: errors become `Status` responses; the request target is read
once as the API server will read it, or refused (proxy/canonical.py); the API
prefix and cluster prefix are stripped; each request is observed (metrics,
access and `--audit-log` lines); a client's concurrent requests are capped; the
filter rejects what kubectl proxy would (and WebSockets from pages it does not
accept); the caller is authenticated, then authorized (`--authn`, `--authz`,
`--policy`); then upgrades are spliced through, WebSocket watches served by the
proxy, and the forwarder sends the rest to the API server. What the proxy answers
itself (its `/-/` endpoints, `--www` files, the `/clusters` list, its own 404s) passes
the gate first (proxy/gate.py): a Host `--accept-hosts` accepts and, with `--authn`, an
authenticated caller. With `--cors-allowed-origins`, preflights are answered before all of
that, and every response carries the CORS headers a listed page needs (proxy/cors.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import hdrs, web
from aiohttp.http import SERVER_SOFTWARE

from proxy.authn.middleware import with_authentication
from proxy.authz.middleware import with_authorization
from proxy.clock import Clock, monotonic
from proxy.config import LimitsConfig, OperationsConfig, SecurityConfig, ServeConfig
from proxy.errors import ConfigError, ProxyError
from proxy.exchange import note_dispatched, note_sent_status
from proxy.ops.access_log import AccessLogSink
from proxy.ops.audit import AuditSink
from proxy.ops.health import HealthChecks
from proxy.ops.memory import MemoryTrimmer
from proxy.ops.metrics import CounterReading, Metrics
from proxy.ops.observe import Sink, with_observation
from proxy.ops.reload import Reloader
from proxy.ops.resource_names import ResourceNames, discover_resource_names
from proxy.redact import mask_log_records
from proxy.routing.canonical import (
    bad_target_response,
    canonical_of,
    canonical_requests,
    retarget,
)
from proxy.routing.filters import Handler, RequestFilter, with_filter
from proxy.routing.kind import RequestKind
from proxy.routing.multi_cluster import UPSTREAM_FOR, with_clusters
from proxy.routing.target_set import LiveTargets
from proxy.serving.cors import CorsPolicy, install_cors
from proxy.serving.gate import Gate, build_gate, gate_middleware
from proxy.serving.guards import Guards
from proxy.serving.limits import with_client_limit
from proxy.status import status_response
from proxy.streams.forward import ForwardHandler
from proxy.streams.shutdown import OpenStreams
from proxy.streams.upgrade import UpgradeHandler
from proxy.streams.websocket_watch import WatchHandler
from proxy.upstream.session import Upstream

if TYPE_CHECKING:
    from proxy.upstream.review_cache import ReviewCache

log = logging.getLogger(__name__)

LIVE = web.AppKey("live_targets", LiveTargets)
STREAMS = web.AppKey("open_streams", OpenStreams)
METRICS = web.AppKey("metrics", Metrics)
HEALTH = web.AppKey("health", HealthChecks)
RELOADER = web.AppKey("reloader", Reloader)
TRIMMER = web.AppKey("memory_trimmer", MemoryTrimmer)
# Served by the proxy itself; no Kubernetes path starts with "/-/".
OWN_PREFIX = "/-/"


def build_app(
    serve: ServeConfig,
    live: LiveTargets,
    *,
    security: SecurityConfig | None = None,
    limits: LimitsConfig | None = None,
    guards: Guards | None = None,
    operations: OperationsConfig | None = None,
    clock: Clock = monotonic,
) -> web.Application:
    """The proxy's application: the request's path, and what it keeps under its `AppKey`s.

    Its resources are started and closed by the composition root (serving/root.py), which
    also adds the `RELOADER`.
    """
    mask_log_records()  # whatever hosts the app (the CLI, a worker, a test), no secret is logged
    security = security or SecurityConfig()
    limits = limits or LimitsConfig()
    operations = operations or OperationsConfig()
    trimmer = MemoryTrimmer()
    streams = OpenStreams(on_end=trimmer.stream_ended)
    metrics = Metrics(
        readings=lambda: counter_readings(live, guards),
        resource_names=ResourceNames(
            lambda: discover_resource_names(live.targets.current.upstream), clock=clock
        ),
        transports=lambda: live.targets.current.upstream.transport_names,
    )
    health = HealthChecks(lambda: live.targets.current.upstream, clock=clock)
    observers = sinks(security, operations, guards, metrics, live)
    app = web.Application(middlewares=[
        status_errors,
        canonical_requests(refuse=with_observation(bad_target_response, observers)),
    ])
    app[LIVE], app[STREAMS], app[METRICS], app[HEALTH] = live, streams, metrics, health
    app[TRIMMER] = trimmer
    app.on_response_prepare.append(note_sent_status)
    app.on_response_prepare.append(no_server_header_of_our_own)

    request_filter = RequestFilter.from_config(serve.filter) if serve.filter else None
    if request_filter is None:
        log.warning(
            "Request filter disabled, your proxy is vulnerable to XSRF attacks, please be cautious"
        )

    def handlers_for(upstream: Upstream) -> Handler:
        watches = WatchHandler(
            upstream, ping_interval=serve.ws_ping_interval, streams=streams,
            max_event_bytes=serve.max_watch_event_bytes,
        )
        return by_kind(
            forward=ForwardHandler(
                upstream, max_body_bytes=limits.max_body_bytes, streams=streams
            ).handle,
            upgrade=UpgradeHandler(upstream).handle,
            websocket_watch=watches.websocket,
            chunked_watch=watches.chunked if serve.watch_resume else None,
        )

    handler = per_upstream(handlers_for)
    if guards is not None:
        handler = with_authorization(handler, guards.decide)
        handler = with_authentication(
            handler, guards.authenticator, impersonate_caller=guards.impersonate_caller
        )
    cors = CorsPolicy.from_config(serve.cors)  # None: no page on another origin may call
    handler = with_filter(handler, request_filter,
                          websocket_origins=cors.accepts_websocket if cors else None)
    handler = with_client_limit(handler, limits.max_requests_per_client)
    # Observed from here in: the target is final (prefixes stripped), so every sink
    # records the request the upstream receives.
    handler = with_observation(handler, observers)
    gate = build_gate(request_filter, guards.authenticator if guards is not None else None)
    handler = with_clusters(handler, live, gate=gate)
    handler = with_api_prefix(handler, serve.api_prefix, gate=gate)
    handler = with_own_endpoints(handler, health, metrics, gate=gate)
    if serve.www_dir is not None:
        add_static_files(app, serve.www_prefix, serve.www_dir, gate=gate,
                         listing=guards is None or guards.authenticator is None)
    app.router.add_route("*", "/{path:.*}", handler)
    if cors is not None:  # preflights answered first; CORS headers on every response
        install_cors(app, cors)
    return app


def build_health_app(main: web.Application) -> web.Application:
    """`--health-port`: liveness, readiness and metrics alone on a listener of their own,
    for probes and scrapers, without authentication: so readiness never says why it failed."""
    app = web.Application()
    health, metrics = main[HEALTH], main[METRICS]
    app.router.add_get("/healthz", health.livez)
    app.router.add_get("/livez", health.livez)
    app.router.add_get("/readyz", health.readyz_for_probes)
    app.router.add_get("/metrics", metrics.handle)
    app.on_response_prepare.append(no_server_header_of_our_own)
    return app


def add_static_files(
    app: web.Application, prefix: str, directory: Path, *, gate: Gate, listing: bool
) -> None:
    """`--www` under `--www-prefix`, behind the gate (its 404s and 405s too); directories are
    listed, as kubectl proxy lists them, only when callers are not authenticated (`listing`)."""
    if prefix == "/":
        raise ConfigError("--www-prefix /: static files would hide the API; use a prefix such "
                          "as /static/")
    files = web.Application(middlewares=[gate_middleware(gate)])
    files.router.add_static("/", directory, show_index=listing)
    app.add_subapp(prefix, files)


def with_own_endpoints(
    handler: Handler, health: HealthChecks, metrics: Metrics, *, gate: Gate
) -> Handler:
    """`/-/livez`, `/-/readyz`, `/-/healthz`, `/-/metrics`: the proxy's own, never forwarded,
    behind the gate.

    Checked here rather than as router entries: the router then holds one route, and
    resolving it costs nothing on the request path.
    """
    own = {
        "healthz": gate(health.livez),
        "livez": gate(health.livez),
        "readyz": gate(health.readyz),
        "metrics": gate(metrics.handle),
    }

    async def route(request: web.Request) -> web.StreamResponse:
        path = request.path
        if path.startswith(OWN_PREFIX) and request.method in ("GET", "HEAD"):
            endpoint = own.get(path[len(OWN_PREFIX):])
            if endpoint is not None:
                return await endpoint(request)
        return await handler(request)

    return route


def sinks(
    security: SecurityConfig,
    operations: OperationsConfig,
    guards: Guards | None,
    metrics: Metrics,
    live: LiveTargets,
) -> list[Sink]:
    chosen: list[Sink] = [metrics]
    if operations.access_log is not False:
        # Whether it writes is the `proxy.access` logger's level (-v, --access-log).
        chosen.append(AccessLogSink())
    if security.audit_log is not None:
        acting = "caller" if guards is not None and guards.impersonate_caller else "proxy"
        chosen.append(
            AuditSink(acting=lambda: f"{acting}:{live.targets.current.upstream.credentials.kind}")
        )
    return chosen


def counter_readings(live: LiveTargets, guards: Guards | None) -> list[CounterReading]:
    """Counters kept by credential sources and review caches, read when /metrics is scraped."""
    readings = []
    source = live.targets.current.upstream.credentials
    for attribute, name, help_text in (
        (
            "refreshes",
            "kube_auth_proxy_credential_refreshes",
            "Credentials obtained or renewed, by source.",
        ),
        (
            "failures",
            "kube_auth_proxy_credential_refresh_failures",
            "Failed attempts to obtain or renew a credential, by source.",
        ),
    ):
        readings.append(
            CounterReading(
                name, help_text, {"source": source.kind}, float(getattr(source, attribute, 0))
            )
        )
    caches: list[tuple[str, ReviewCache[Any, Any]]] = []
    if guards is not None and guards.token_reviewer is not None:
        caches.append(("tokenreview", guards.token_reviewer.cache))
    if guards is not None and guards.access_reviewer is not None:
        caches.append(("subjectaccessreview", guards.access_reviewer.cache))
    for review, cache in caches:
        for result, value in (("hit", cache.hits), ("miss", cache.misses)):
            readings.append(
                CounterReading(
                    "kube_auth_proxy_review_cache_lookups",
                    "Review cache lookups, by review and result.",
                    {"review": review, "result": result},
                    float(value),
                )
            )
    return readings


def per_upstream(make: Callable[[Upstream], Handler]) -> Handler:
    """The request's upstream (chosen by `with_clusters`) gets handlers of its own; those of
    upstreams closed after a reload are let go when a new upstream appears."""
    built: dict[int, tuple[Upstream, Handler]] = {}

    async def route(request: web.Request) -> web.StreamResponse:
        upstream = request[UPSTREAM_FOR]
        entry = built.get(id(upstream))
        if entry is None or entry[0] is not upstream:
            for key in [key for key, (known, _) in built.items() if known.closed]:
                del built[key]
            entry = built[id(upstream)] = (upstream, make(upstream))
        return await entry[1](request)

    return route


def by_kind(
    *,
    forward: Handler,
    upgrade: Handler,
    websocket_watch: Handler,
    chunked_watch: Handler | None,
) -> Handler:
    """Upgrades are spliced, WebSocket watches served by the proxy, the rest forwarded:
    as the canonical request's kind says (a watch is what the API server reads as one)."""

    async def route(request: web.Request) -> web.StreamResponse:
        note_dispatched(request)
        kind = canonical_of(request).kind
        if kind is RequestKind.WEBSOCKET_WATCH:
            return await websocket_watch(request)
        if kind is RequestKind.UPGRADE:
            return await upgrade(request)
        if kind is RequestKind.WATCH and chunked_watch is not None:
            return await chunked_watch(request)
        return await forward(request)

    return route


def with_api_prefix(handler: Handler, prefix: str, *, gate: Gate) -> Handler:
    """Serve the API under `--api-prefix`, stripped before forwarding, as kubectl proxy does;
    the 404 outside it is the proxy's own answer, behind the gate.

    kubectl leaves prefixes that start with /api in place. The prefix is
    matched on the raw path, so an escaped prefix is not the prefix.
    """
    if prefix == "/" or prefix.startswith("/api"):
        return handler
    bare = prefix.rstrip("/")

    async def outside(request: web.Request) -> web.StreamResponse:
        return status_response(404, f"{request.path} is outside --api-prefix {prefix}")

    outside_gated = gate(outside)

    async def stripped(request: web.Request) -> web.StreamResponse:
        raw = request.raw_path
        if not (raw == bare or raw.startswith((bare + "/", bare + "?"))):
            return await outside_gated(request)
        rest = raw[len(bare) :]
        if not rest.startswith("/"):
            rest = "/" + rest
        return await handler(retarget(request, rest))

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


async def no_server_header_of_our_own(
    request: web.Request, response: web.StreamResponse
) -> None:
    """aiohttp names itself in `Server` when an answer has none. The API server sends none and
    kubectl proxy adds none: the client sees only the `Server` the upstream sent, if any."""
    if response.headers.get(hdrs.SERVER) == SERVER_SOFTWARE:
        del response.headers[hdrs.SERVER]
