"""kubectl proxy's request filter, judged on the path the API server will act on.

kubectl proxy matches its patterns against Go's decoded `URL.Path`. The API
server decodes percent-escapes once, and path cleaning elsewhere may resolve
`.`, `..` and `//`. A rejected path must stay rejected under every such
reading, so the filter checks them all: a request is accepted only when every
interpretation of its path is accepted and none is rejected.
"""

from __future__ import annotations

import functools
import logging
import posixpath
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import unquote

from aiohttp import hdrs, web

from proxy.config import FilterConfig
from proxy.errors import ConfigError
from proxy.status import status_response

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# Enough to undo any realistic layering of escapes (%2525252F...).
_MAX_DECODE_ROUNDS = 8


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


def request_host(host_header: str) -> str:
    """The host part of a Host header; IPv6 literals keep their brackets (`[::1]:8001` → `[::1]`).

    kubectl proxy's Go `SplitHostPort` strips them, so its own default `^\\[::1\\]$` never
    matches a request with a port: a bug we do not copy.
    """
    if host_header.startswith("["):
        end = host_header.find("]")
        return host_header[: end + 1] if end != -1 else host_header
    host, sep, port = host_header.rpartition(":")
    if sep and port.isdigit() and ":" not in host:
        return host
    return host_header


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

    def accepts(self, method: str, raw_path: str, host: str) -> bool:
        if _matches(method, self.reject_methods):
            return False
        if not _matches(host, self.accept_hosts):
            return False
        paths = path_interpretations(raw_path)
        if any(_matches(path, self.reject_paths) for path in paths):
            return False
        return all(_matches(path, self.accept_paths) for path in paths)

    def accepts_origin(self, origin: str) -> bool:
        """A browser page may open a WebSocket only if `--accept-hosts` accepts its host.

        WebSockets are not bound by the same-origin policy: without this, any page
        the user visits could drive the cluster with the user's credentials.
        """
        scheme, sep, rest = origin.partition("://")
        if not sep or not scheme or not rest:
            return False  # "null" (sandboxed frames, file:// pages) and garbage
        authority = rest.partition("/")[0].rpartition("@")[2]
        return _matches(request_host(authority), self.accept_hosts)


def is_websocket(request: web.Request) -> bool:
    return request.headers.get(hdrs.UPGRADE, "").strip().lower() == "websocket"


def with_filter(handler: Handler, request_filter: RequestFilter | None) -> Handler:
    """Wrap the proxy handler in the filter; with the filter disabled, the bare handler."""
    if request_filter is None:
        return handler

    async def filtered(request: web.Request) -> web.StreamResponse:
        raw_path = request.raw_path.partition("?")[0]
        host = request_host(request.headers.get(hdrs.HOST, ""))
        origin = request.headers.get(hdrs.ORIGIN) if is_websocket(request) else None
        if origin is not None and not request_filter.accepts_origin(origin):
            log.info("filter rejected a WebSocket from origin %r", origin)
            return status_response(
                403, f"WebSocket from origin {origin!r} is forbidden by the proxy's request filter"
            )
        if request_filter.accepts(request.method, raw_path, host):
            return await handler(request)
        log.info("filter rejected %s %s (host %r)", request.method, raw_path, host)
        return status_response(
            403, f"{request.method} {raw_path} is forbidden by the proxy's request filter"
        )

    return filtered
