"""The non-resource endpoints besides discovery: /version, /healthz /livez /readyz and their
checks, /metrics, and service-account issuer discovery (/.well-known, /openid/v1/jwks).

Health answers any method, as the apiserver's healthz mux does; `?verbose` lists the
checks, `exclude=NAME` marks one excluded, and an unknown check is Go's plain 404.
"""

from __future__ import annotations

from aiohttp import web

from proxy.testing import status
from proxy.testing.discovery import VERSION_INFO
from proxy.testing.issued_tokens import ISSUER, jwks
from proxy.testing.responses import json_response

_POST_START_HOOKS = (
    "start-apiserver-admission-initializer", "generic-apiserver-start-informers",
    "priority-and-fairness-config-consumer", "priority-and-fairness-filter",
    "storage-object-count-tracker-hook", "start-apiextensions-informers",
    "start-apiextensions-controllers", "crd-informer-synced",
    "start-system-namespaces-controller", "start-cluster-authentication-info-controller",
    "start-kube-apiserver-identity-lease-controller",
    "start-kube-apiserver-identity-lease-garbage-collector",
    "start-legacy-token-tracking-controller", "start-service-ip-repair-controllers",
    "rbac/bootstrap-roles", "scheduling/bootstrap-system-priority-classes",
    "priority-and-fairness-config-producer", "bootstrap-controller",
    "start-kube-aggregator-informers", "apiservice-status-local-available-controller",
    "apiservice-status-remote-available-controller", "apiservice-registration-controller",
    "apiservice-wait-for-first-sync", "apiservice-discovery-controller",
    "kube-apiserver-autoregistration",
)
_HOOKS = tuple(f"poststarthook/{hook}" for hook in _POST_START_HOOKS)
_TAIL = ("autoregister-completion", "poststarthook/apiservice-openapi-controller",
         "poststarthook/apiservice-openapiv3-controller")
CHECKS: dict[str, tuple[str, ...]] = {
    "healthz": ("ping", "log", "etcd", *_HOOKS, *_TAIL),
    "livez": ("ping", "log", "etcd", *_HOOKS, *_TAIL),
    "readyz": ("ping", "log", "informer-sync", *_HOOKS, *_TAIL, "shutdown"),
}
METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8; escaping=values"


def _text(text: str, *, code: int = 200) -> web.Response:
    return web.Response(
        status=code,
        text=text,
        content_type="text/plain",
        charset="utf-8",
        headers={"X-Content-Type-Options": "nosniff"},
    )


def not_found() -> web.Response:
    """Go's http.NotFound."""
    return _text("404 page not found\n", code=404)


async def handle_version(request: web.Request) -> web.Response:
    if request.method not in ("GET", "HEAD"):
        raise status.method_not_allowed()
    return json_response(request, VERSION_INFO)


async def handle_health(request: web.Request) -> web.Response:
    endpoint = request.match_info["endpoint"]
    check = request.match_info.get("check", "")
    checks = CHECKS[endpoint]
    if check:
        return _text("ok") if check in checks else not_found()
    if "verbose" not in request.query:
        return _text("ok")
    excluded = set(request.query.getall("exclude", []))
    lines = [f"[+]{c} excluded: ok" if c in excluded else f"[+]{c} ok" for c in checks]
    unknown = sorted(excluded - set(checks))
    if unknown:
        quoted = ",".join(f'"{name}"' for name in unknown)
        lines.append(f"warn: some health checks cannot be excluded: no matches for {quoted}")
    return _text("\n".join(lines) + f"\n{endpoint} check passed\n")


async def handle_metrics(request: web.Request) -> web.Response:
    """The Prometheus text format, whatever Accept says (OpenMetrics is not offered)."""
    state_lines = [
        "# HELP aggregator_discovery_aggregation_count_total [ALPHA] Counter of number of "
        "times discovery was aggregated",
        "# TYPE aggregator_discovery_aggregation_count_total counter",
        "aggregator_discovery_aggregation_count_total 1",
        "# HELP apiserver_request_total [STABLE] Counter of apiserver requests.",
        "# TYPE apiserver_request_total counter",
    ]
    response = web.Response(body=("\n".join(state_lines) + "\n").encode())
    response.headers["Content-Type"] = METRICS_CONTENT_TYPE
    return response


async def handle_jwks(request: web.Request) -> web.Response:
    response = json_response(request, jwks())
    response.headers["Content-Type"] = "application/jwk-set+json"
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


async def handle_openid_configuration(request: web.Request) -> web.Response:
    document = {
        "issuer": ISSUER,
        "jwks_uri": f"{ISSUER}/openid/v1/jwks",
        "response_types_supported": ["id_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["ES256"],
    }
    response = json_response(request, document)
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response
