"""Web pages on other origins (`--cors-allowed-origins`), as the kube-apiserver's flag.

A page can read what another origin answers only if that origin says so: the browser
sends a preflight `OPTIONS` before any request that is not "simple" (a JSON body, a
PATCH, an `Authorization` header) and hides every answer without
`Access-Control-Allow-Origin`. With origins listed, the proxy

- answers preflights itself, never upstream and without authentication (browsers send
  no credentials on them): 204 with the CORS headers for a listed origin, a 403 `Status`
  without them for any other;
- sets the CORS headers on every response to a listed origin, its own errors (filter 403,
  401, 429, 502) and streamed ones included, and removes the upstream's `Access-Control-*`
  headers from every response: the proxy, not the API server, decides which pages read;
- lets a listed page open WebSocket watches, and refuses WebSockets from any other page
  but its own (browsers apply no same-origin policy to WebSockets), in proxy/filters.py.

Origins are matched whole (`re.fullmatch`: the kube-apiserver searches, so its
`example.com` also admits `example.com.attacker.net`). An expression that admits sites
nobody listed on purpose (`.*`, `https?://.*`, `null`) is refused at start-up unless
`--insecure-allow-any-cors-origin`; `Access-Control-Allow-Credentials` (cookies, client
certificates) goes only to an origin an expression names literally.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from aiohttp import hdrs, web
from aiohttp.typedefs import Middleware

from proxy.config import CorsConfig
from proxy.errors import ConfigError
from proxy.routing.filters import Handler
from proxy.status import status_response

log = logging.getLogger(__name__)

ORIGINS_FLAG = "--cors-allowed-origins"
ANY_ORIGIN_FLAG = "--insecure-allow-any-cors-origin"

# The kube-apiserver's defaults (k8s.io/apiserver/pkg/server/filters/cors.go). Content-Type
# is what the patch types need (merge, JSON and strategic merge patches and apply are told
# apart by it alone); Accept is added because a long one (a Table request) is not safelisted.
ALLOWED_METHODS = ("POST", "GET", "OPTIONS", "PUT", "DELETE", "PATCH")
ALLOWED_HEADERS = (
    "Content-Type", "Content-Length", "Accept-Encoding", "X-CSRF-Token", "Authorization",
    "X-Requested-With", "If-Modified-Since", "Accept",
)
EXPOSED_HEADERS = (
    "Date", "Audit-Id", "Content-Type", "Warning",
    "X-Kubernetes-PF-FlowSchema-UID", "X-Kubernetes-PF-PriorityLevel-UID",
)
# How long a browser may reuse a preflight's answer (Chromium caps it at two hours).
PREFLIGHT_MAX_AGE_SECONDS = 600

# Origins nobody lists on purpose: `null` (sandboxed frames, file:// pages: any site can
# make one) and sites under `.invalid`, a name reserved never to exist (RFC 2606). An
# expression that admits one of them admits sites its author never thought of.
UNLISTABLE_ORIGINS = (
    "null",
    "http://a.invalid",
    "https://b.invalid",
    "http://attacker.invalid:8080",
    "http://localhost.attacker.invalid",
    "http://127.0.0.1.attacker.invalid",
    "https://example.com.attacker.invalid",
)

_ACCESS_CONTROL_PREFIX = "access-control-"
_REGEX_METACHARACTERS = frozenset(".^$*+?{}[]|()")
_ORIGIN_PARTS = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+\-.]*)://(?P<authority>[^/?#@\s]+)")
_DEFAULT_PORTS = {"http": ":80", "https": ":443"}


def literal_origin(pattern: str) -> str | None:
    """The one origin `pattern` matches when it names one literally (anchors and escaped
    punctuation allowed, as in `^https://dash\\.example\\.com$`), else None."""
    body = pattern.removeprefix("^")
    if body.endswith("$") and not body.endswith("\\$"):
        body = body[:-1]
    chars: list[str] = []
    escaped = False
    for char in body:
        if escaped:
            if char.isalnum():  # \d, \w, \Z, \b: classes and anchors, not characters
                return None
            chars.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char in _REGEX_METACHARACTERS:
            return None
        else:
            chars.append(char)
    literal = "".join(chars)
    if escaped or re.fullmatch(pattern, literal) is None:
        return None
    return literal


def unlisted_origin_admitted(pattern: re.Pattern[str]) -> str | None:
    """An origin from `UNLISTABLE_ORIGINS` that `pattern` admits, if any."""
    return next((origin for origin in UNLISTABLE_ORIGINS if pattern.fullmatch(origin)), None)


def is_same_origin(origin: str, host: str | None) -> bool:
    """Whether `origin` names the host and port the request was sent to (`host`, the Host
    header): a page the proxy serves itself (`--www`), or a client that sets Origin to its
    target, as Python's websocket-client does."""
    match = _ORIGIN_PARTS.fullmatch(origin)
    if match is None or host is None:
        return False
    default_port = _DEFAULT_PORTS.get(match["scheme"].lower(), "")
    authority = match["authority"].lower()
    host = host.strip().lower()
    if default_port:
        authority = authority.removesuffix(default_port)
        host = host.removesuffix(default_port)
    return authority == host


def single_origin(request: web.Request) -> str | None:
    """The request's Origin; None without one, or with several (no browser sends two)."""
    origins = request.headers.getall(hdrs.ORIGIN, [])
    return origins[0] if len(origins) == 1 else None


def is_preflight(request: web.Request) -> bool:
    return (request.method == hdrs.METH_OPTIONS and hdrs.ORIGIN in request.headers
            and hdrs.ACCESS_CONTROL_REQUEST_METHOD in request.headers)


@dataclass(frozen=True)
class CorsPolicy:
    """Which pages may call the proxy, and the headers that tell their browsers so.

    A pure predicate over origins, table-tested without a server.
    """

    patterns: tuple[re.Pattern[str], ...]
    # Origins named literally: only they get Access-Control-Allow-Credentials.
    credentialed: frozenset[str]

    @classmethod
    def from_config(cls, config: CorsConfig) -> CorsPolicy | None:
        """None when no origin is listed (CORS off); a `ConfigError` naming the flag for a bad
        expression, or one that admits any site without `--insecure-allow-any-cors-origin`."""
        if not config.allowed_origins:
            return None
        patterns, credentialed = [], set()
        for text in config.allowed_origins:
            try:
                pattern = re.compile(text)
            except re.error as exc:
                raise ConfigError(
                    f"{ORIGINS_FLAG}: {text!r} is not a valid regular expression: {exc}"
                ) from None
            admitted = unlisted_origin_admitted(pattern)
            if admitted is not None and not config.allow_any_origin:
                raise ConfigError(
                    f"{ORIGINS_FLAG}: {text!r} lets any web site call the proxy through its "
                    f"visitors' browsers (it matches {admitted!r}); list your pages' origins, "
                    "e.g. ^https://dash\\.example\\.com$, or add "
                    f"{ANY_ORIGIN_FLAG} if every site may"
                )
            if admitted is not None:
                log.warning(
                    "%s: %r lets ANY web site call the proxy through its visitors' browsers "
                    "(it matches %r), and %s allows it: every page a user of this proxy "
                    "opens can read and change what the proxy can", ORIGINS_FLAG, text,
                    admitted, ANY_ORIGIN_FLAG,
                )
            literal = literal_origin(text)
            if literal is not None:
                credentialed.add(literal)
            patterns.append(pattern)
        return cls(patterns=tuple(patterns), credentialed=frozenset(credentialed))

    def allows(self, origin: str) -> bool:
        return any(pattern.fullmatch(origin) for pattern in self.patterns)

    def accepts_websocket(self, origin: str, host: str | None) -> bool:
        """Listed pages, and the proxy's own (`is_same_origin`): no other page learns anything,
        whether it asks with fetch or with a WebSocket."""
        return self.allows(origin) or is_same_origin(origin, host)

    def response_headers(self, origin: str) -> list[tuple[str, str]]:
        """The CORS headers for an allowed origin, on every response as the kube-apiserver
        sets them (the preflight's included)."""
        headers: list[tuple[str, str]] = [
            (hdrs.ACCESS_CONTROL_ALLOW_ORIGIN, origin),
            (hdrs.ACCESS_CONTROL_ALLOW_METHODS, ", ".join(ALLOWED_METHODS)),
            (hdrs.ACCESS_CONTROL_ALLOW_HEADERS, ", ".join(ALLOWED_HEADERS)),
            (hdrs.ACCESS_CONTROL_EXPOSE_HEADERS, ", ".join(EXPOSED_HEADERS)),
            (hdrs.ACCESS_CONTROL_MAX_AGE, str(PREFLIGHT_MAX_AGE_SECONDS)),
        ]
        if origin in self.credentialed:
            headers.append((hdrs.ACCESS_CONTROL_ALLOW_CREDENTIALS, "true"))
        return headers


def preflight_answers(policy: CorsPolicy) -> Middleware:
    """The outermost middleware: preflights are the proxy's to answer, before the filter and
    authentication, and never forwarded."""

    @web.middleware
    async def answer_preflight(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not is_preflight(request):
            return await handler(request)
        origin = single_origin(request)
        if origin is not None and policy.allows(origin):
            return web.Response(status=204)
        log.info("refused a CORS preflight from origin %r", origin)
        return status_response(403, f"{ORIGINS_FLAG} does not list the request's origin")

    return answer_preflight


class CorsHeaders:
    """`app.on_response_prepare`: whatever produced the response (the forwarder, a watch, the
    proxy's own `Status`), its CORS headers are the proxy's, set as its head goes out."""

    def __init__(self, policy: CorsPolicy) -> None:
        self._policy = policy

    async def __call__(self, request: web.Request, response: web.StreamResponse) -> None:
        headers = response.headers
        for name in [name for name in headers if name.lower().startswith(_ACCESS_CONTROL_PREFIX)]:
            headers.popall(name, None)
        origin = single_origin(request)
        if origin is None or not self._policy.allows(origin):
            return
        headers.extend(self._policy.response_headers(origin))
        add_vary(response, hdrs.ORIGIN)


def add_vary(response: web.StreamResponse, name: str) -> None:
    """Name `name` in the response's Vary, once: caches keep one answer per origin."""
    values = response.headers.getall(hdrs.VARY, [])
    tokens = {token.strip().lower() for value in values for token in value.split(",")}
    if name.lower() in tokens or "*" in tokens:
        return
    response.headers[hdrs.VARY] = ", ".join([*values, name])


def install_cors(app: web.Application, policy: CorsPolicy) -> None:
    """Preflights answered outside everything else (the error translation included); the
    headers set on every response the application prepares, errors and streams alike."""
    app.middlewares.insert(0, preflight_answers(policy))
    app.on_response_prepare.append(CorsHeaders(policy))
