"""The WebSocket handshake of the apiserver's watch endpoint: golang.org/x/net/websocket's.

Its refusals are raw answers written on the hijacked connection, without the handler
chain's headers (no Content-Type, no Cache-Control): a bad Sec-WebSocket-Version is a 400
saying so, an `Origin` that is missing or not a request URI (Go's url.ParseRequestURI) is
a bare 403, and more than one subprotocol left after authentication is a bare 400. The
Origin is never compared with the server's own address: any parseable one is accepted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from aiohttp import hdrs, web

from proxy.testing.filters import RAW_KEY, WEBSOCKET_PROTOCOLS_KEY

SUPPORTED_VERSION = "13"
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_PORT = re.compile(r"^:[0-9]*$")
_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
_HOST_ALLOWED = re.compile(r"^[A-Za-z0-9\-._~!$&'()*+,;=:\[\]<>\"%]*$")


@dataclass(frozen=True)
class Refusal:
    status: int
    text: str = ""
    version_header: bool = False


def parse_request_uri_ok(value: str) -> bool:
    """Whether Go's url.ParseRequestURI accepts `value` (absolute URI or absolute path)."""
    if not value or any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        return False
    rest = value
    if value.startswith(":"):
        return False  # "missing protocol scheme"
    scheme_match = _SCHEME.match(value)
    if scheme_match is None:
        return value.startswith("/") and not _ESCAPE.search(value)
    rest = value[scheme_match.end() :].split("?", 1)[0]
    if not rest.startswith("/"):
        return True  # opaque: "mailto:x" is a request URI to Go
    if rest.startswith("//"):
        authority, _, path = rest[2:].partition("/")
        host = authority.rpartition("@")[2]
        if host.startswith("["):
            closing = host.find("]")
            if closing < 0 or not _PORT.match(host[closing + 1 :] or ":"):
                return False
        elif ":" in host and not _PORT.match(host[host.rindex(":") :]):
            return False
        if not _HOST_ALLOWED.match(host) or _ESCAPE.search(host):
            return False
        rest = path
    return not _ESCAPE.search(rest)


def check(request: web.Request, protocols: list[str]) -> Refusal | None:
    """ReadHandshake, then checkOrigin, then AcceptHandshake's one-protocol rule."""
    if request.method != "GET":
        return Refusal(405, "bad method")
    if not request.headers.get("Sec-WebSocket-Key"):
        return Refusal(400, "mismatch challenge/response")
    if request.headers.get("Sec-WebSocket-Version") != SUPPORTED_VERSION:
        return Refusal(400, "missing or bad WebSocket Version", version_header=True)
    if not parse_request_uri_ok(request.headers.get(hdrs.ORIGIN, "")):
        return Refusal(403)
    if len(protocols) > 1:
        return Refusal(400)
    return None


def requested_protocols(request: web.Request) -> list[str]:
    """Sec-WebSocket-Protocol as x/net reads it: the first header, split on commas (after
    the bearer-token subprotocol authenticator removed its own)."""
    filtered = request.get(WEBSOCKET_PROTOCOLS_KEY)
    if filtered is not None:
        return list(filtered)
    header = request.headers.get("Sec-WebSocket-Protocol", "").strip()
    return [p.strip() for p in header.split(",")] if header else []


class _UntypedResponse(web.Response):
    """A body without Content-Type, as Go writes on a hijacked connection.

    aiohttp adds `application/octet-stream` to every non-empty body while preparing the
    headers; this one adapter takes it out again (tests/testing/test_fake_apiserver_
    websockets.py fails if aiohttp changes how).
    """

    async def _prepare_headers(self) -> None:
        await super()._prepare_headers()
        self.headers.popall(hdrs.CONTENT_TYPE, None)


def refusal_response(request: web.Request, refusal: Refusal) -> web.Response:
    """The raw answer: status line, (maybe) Sec-WebSocket-Version, the text, then close."""
    request[RAW_KEY] = True
    response = _UntypedResponse(status=refusal.status, body=refusal.text.encode() or None)
    response.force_close()
    if refusal.version_header:
        response.headers["Sec-WebSocket-Version"] = SUPPORTED_VERSION
    return response
