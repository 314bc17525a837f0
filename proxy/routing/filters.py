"""kubectl proxy's request filter, judged on the canonical request: the path the API server
will act on (proxy/canonical.py), and the Host and Origin parsed exactly.

kubectl proxy matches its patterns against Go's decoded `URL.Path`. The API
server decodes percent-escapes once, and path cleaning elsewhere may resolve
`.`, `..` and `//`. A rejected path must stay rejected under every such
reading, so the filter checks them all: a request is accepted only when every
interpretation of its path is accepted and none is rejected.
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import posixpath
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import unquote

from aiohttp import hdrs, web

from proxy.config import FilterConfig
from proxy.errors import ConfigError
from proxy.exchange import FILTERED, note_refusal
from proxy.routing.canonical import canonical_of
from proxy.status import status_response

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# May a page on this Origin open a WebSocket? (origin, the request's Host header)
OriginCheck = Callable[[str, str | None], bool]

# Enough to undo any realistic layering of escapes (%2525252F...).
_MAX_DECODE_ROUNDS = 8
# A Host header's host: a registered name or IPv4 address, or a bracketed IPv6 literal;
# then an optional port. Nothing else (userinfo, paths, stray brackets) is a host.
_HOST_HEADER = re.compile(r"(?:(?P<name>[A-Za-z0-9\-._~]+)|\[(?P<ipv6>[0-9A-Fa-f:.]+)\])"
                          r"(?::(?P<port>[0-9]{0,5}))?")
_ORIGIN = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+\-.]*)://(?P<authority>[^/?#@]+)")


def _compile(patterns: tuple[str, ...], option: str) -> tuple[re.Pattern[str], ...]:
    compiled = []
    for pattern in patterns:
        try:
            compiled.append(re.compile(pattern))
        except re.error as exc:
            raise ConfigError(
                f"{option}: {pattern!r} is not a valid regular expression: {exc}"
            ) from None
    return tuple(compiled)


def _matches(value: str, patterns: tuple[re.Pattern[str], ...]) -> bool:
    return any(p.search(value) for p in patterns)


# Clients ask for the same few paths over and over (the query string is not part of
# the key): remember the readings instead of decoding and cleaning on every request.
@functools.lru_cache(maxsize=4096)
def path_interpretations(raw_path: str) -> tuple[str, ...]:
    """Every path an upstream might act on for this raw path (query string excluded)."""
    forms = {raw_path}
    decoded = raw_path
    for _ in range(_MAX_DECODE_ROUNDS):
        step = unquote(decoded, errors="surrogateescape")
        if step == decoded:
            break
        decoded = step
        forms.add(decoded)
    for form in list(forms):
        forms.add(clean_path(form))
    return tuple(sorted(forms))


def clean_path(path: str) -> str:
    """Go's path.Clean: collapse `//`, resolve `.` and `..`, keep a trailing slash as Go's mux."""
    if not path.startswith("/"):
        path = "/" + path
    cleaned = posixpath.normpath(path)
    if cleaned.startswith("//"):  # POSIX keeps a leading double slash; Go does not
        cleaned = "/" + cleaned.lstrip("/")
    if path.endswith("/") and cleaned != "/":
        cleaned += "/"
    return cleaned


def request_host(host_header: str) -> str | None:
    """The host a Host header names, lower-cased, IPv6 literals bracketed (`[::1]:8001` →
    `[::1]`); None when the header is not exactly `host[:port]`.

    `[::1]evil`, `[::1].evil.com`, `127.0.0.1@evil`, a bare `::1` and a trailing dot are
    not hosts, so no pattern is ever matched against a part of one. kubectl proxy's
    Go `SplitHostPort` strips the brackets, so its own default `^\\[::1\\]$` never
    matches a request with a port: a bug we do not copy.
    """
    match = _HOST_HEADER.fullmatch(host_header.strip())
    if match is None or (match["port"] and int(match["port"]) > 65535):
        return None
    if match["ipv6"] is not None:
        try:
            return f"[{ipaddress.IPv6Address(match['ipv6']).compressed}]"
        except ValueError:
            return None
    name = match["name"].lower()
    if name.endswith(".") or name.startswith("."):
        return None
    return name


@dataclass(frozen=True)
class RequestFilter:
    """A pure predicate over (method, path, host); table-tested without a server."""

    accept_hosts: tuple[re.Pattern[str], ...]
    accept_paths: tuple[re.Pattern[str], ...]
    reject_paths: tuple[re.Pattern[str], ...]
    reject_methods: tuple[re.Pattern[str], ...]

    @classmethod
    def from_config(cls, config: FilterConfig) -> RequestFilter:
        """Compile the patterns; a bad one is a start-up error naming its flag."""
        return cls(
            accept_hosts=_compile(config.accept_hosts, "--accept-hosts"),
            accept_paths=_compile(config.accept_paths, "--accept-paths"),
            reject_paths=_compile(config.reject_paths, "--reject-paths"),
            reject_methods=_compile(config.reject_methods, "--reject-methods"),
        )

    def accepts(self, method: str, raw_path: str, host: str | None) -> bool:
        """`host` as `request_host` parsed it: None (no host, or not one) is never accepted."""
        if host is None or _matches(method, self.reject_methods):
            return False
        if not self.accepts_host(host):
            return False
        paths = path_interpretations(raw_path)
        if any(_matches(path, self.reject_paths) for path in paths):
            return False
        return all(_matches(path, self.accept_paths) for path in paths)

    def accepts_host(self, host: str | None) -> bool:
        """`--accept-hosts` alone, `host` as `request_host` parsed it (None is never accepted)."""
        return host is not None and _matches(host, self.accept_hosts)

    def accepts_origin(self, origin: str) -> bool:
        """A browser page may open a WebSocket only if `--accept-hosts` accepts its host.

        WebSockets are not bound by the same-origin policy: without this, any page
        the user visits could drive the cluster with the user's credentials.
        """
        match = _ORIGIN.fullmatch(origin.strip())
        if match is None:
            return False  # "null" (sandboxed frames, file:// pages), userinfo, paths, garbage
        return self.accepts_host(request_host(match["authority"]))


def host_of(request: web.Request) -> str | None:
    """The one host the request's Host header names; None for no Host, several, or not a host."""
    hosts = request.headers.getall(hdrs.HOST, [])
    return request_host(hosts[0]) if len(hosts) == 1 else None


def is_websocket(request: web.Request) -> bool:
    return request.headers.get(hdrs.UPGRADE, "").strip().lower() == "websocket"


def with_filter(
    handler: Handler,
    request_filter: RequestFilter | None,
    *,
    websocket_origins: OriginCheck | None = None,
) -> Handler:
    """Wrap the proxy handler in the filter; with the filter disabled, the bare handler.

    `websocket_origins(origin, host header)` decides which pages may open WebSockets, in
    place of `--accept-hosts` (with `--cors-allowed-origins`: the listed pages, and the
    proxy's own; proxy/cors.py).
    """
    if request_filter is None:
        return handler
    accepts_origin = websocket_origins or (
        lambda origin, _host: request_filter.accepts_origin(origin)
    )

    async def filtered(request: web.Request) -> web.StreamResponse:
        canonical = canonical_of(request)
        hosts = request.headers.getall(hdrs.HOST, [])
        host = host_of(request)
        origin = request.headers.get(hdrs.ORIGIN) if is_websocket(request) else None
        if origin is not None and not accepts_origin(origin, hosts[0] if hosts else None):
            log.info("filter rejected a WebSocket from origin %r", origin)
            note_refusal(request, FILTERED)
            return status_response(
                403, f"WebSocket from origin {origin!r} is forbidden by the proxy's request filter"
            )
        if request_filter.accepts(canonical.method, canonical.raw_path, host):
            return await handler(request)
        log.info("filter rejected %s %s (host %r)", canonical.method, canonical.raw_path, hosts)
        note_refusal(request, FILTERED)
        if host is None:
            return status_response(403, "the request's Host header does not name one host, "
                                        "so the proxy's request filter refuses it")
        return status_response(
            403, f"{canonical.method} {canonical.raw_path} is forbidden by the proxy's "
                 "request filter"
        )

    return filtered


def with_host_filter(handler: Handler, request_filter: RequestFilter | None) -> Handler:
    """`--accept-hosts` alone, for what the proxy answers itself (`/-/` endpoints, `--www`
    files, the `/clusters` list); with the filter disabled, the bare handler.

    The paths those answers live at are the proxy's, not the API's, so `--accept-paths` and
    `--reject-paths` do not judge them; the Host does, or a DNS-rebinding page could read them.
    """
    if request_filter is None:
        return handler

    async def host_filtered(request: web.Request) -> web.StreamResponse:
        host = host_of(request)
        if request_filter.accepts_host(host):
            return await handler(request)
        log.info("filter rejected %s %s (host %r)", request.method, request.raw_path,
                 request.headers.getall(hdrs.HOST, []))
        if host is None:
            return status_response(403, "the request's Host header does not name one host, "
                                        "so the proxy's request filter refuses it")
        return status_response(
            403, f"{request.method} {request.path} is forbidden by the proxy's request filter"
        )

    return host_filtered
