"""Header names, and the sanitising done before anything is forwarded.

Order matters (Go's httputil.ReverseProxy learned it the hard way): strip
hop-by-hop and client identity headers first, then inject the proxy's own.
"""

from __future__ import annotations

from collections.abc import Iterable

from aiohttp import hdrs
from multidict import CIMultiDict, istr

IMPERSONATE_USER = istr("Impersonate-User")
IMPERSONATE_GROUP = istr("Impersonate-Group")
IMPERSONATE_UID = istr("Impersonate-Uid")
IMPERSONATE_EXTRA_PREFIX = "impersonate-extra-"
# A browser's bearer token, carried as a WebSocket subprotocol: never forwarded.
BEARER_SUBPROTOCOL_PREFIX = "base64url.bearer.authorization.k8s.io."
# Set by authenticating front proxies (the apiserver's requestheader authenticator).
REMOTE_PREFIX = "x-remote-"

# RFC 9110 §7.6.1, plus the de-facto ones Go's ReverseProxy also drops.
HOP_BY_HOP: frozenset[str] = frozenset(
    h.lower()
    for h in (
        hdrs.CONNECTION,
        "Proxy-Connection",
        hdrs.KEEP_ALIVE,
        hdrs.PROXY_AUTHENTICATE,
        hdrs.PROXY_AUTHORIZATION,
        hdrs.TE,
        hdrs.TRAILER,
        hdrs.TRANSFER_ENCODING,
        hdrs.UPGRADE,
    )
)

# What a client may never decide for itself: who it is upstream.
_CLIENT_IDENTITY: frozenset[str] = frozenset(
    h.lower() for h in (hdrs.AUTHORIZATION, IMPERSONATE_USER, IMPERSONATE_GROUP, IMPERSONATE_UID)
)
_CLIENT_IDENTITY_PREFIXES = (IMPERSONATE_EXTRA_PREFIX, REMOTE_PREFIX)

# Recomputed for the upstream connection (`Expect` is answered by the proxy's own server).
_PER_CONNECTION: frozenset[str] = frozenset(
    h.lower() for h in (hdrs.HOST, hdrs.CONTENT_LENGTH, hdrs.EXPECT)
)


def connection_tokens(headers: Iterable[tuple[str, str]]) -> set[str]:
    """Header names listed in `Connection`, which are hop-by-hop too."""
    named: set[str] = set()
    for name, value in headers:
        if name.lower() == "connection":
            named.update(token.strip().lower() for token in value.split(",") if token.strip())
    return named


def is_client_identity(name: str) -> bool:
    lowered = name.lower()
    return lowered in _CLIENT_IDENTITY or lowered.startswith(_CLIENT_IDENTITY_PREFIXES)


def outbound_request_headers(
    inbound: Iterable[tuple[str, str]], *, keep_content_length: bool
) -> CIMultiDict[str]:
    """A new header set for the upstream request: the client's, minus hop-by-hop and identity.

    The inbound headers are never modified. `Content-Length` is kept when the
    body is streamed through unchanged, so the upstream sees the same framing.
    """
    items = list(inbound)
    drop = HOP_BY_HOP | connection_tokens(items)
    outbound: CIMultiDict[str] = CIMultiDict()
    for name, value in items:
        lowered = name.lower()
        if lowered in drop or is_client_identity(lowered):
            continue
        if lowered in _PER_CONNECTION and not (keep_content_length and lowered == "content-length"):
            continue
        if lowered == "sec-websocket-protocol" and BEARER_SUBPROTOCOL_PREFIX in value.lower():
            value = without_bearer_subprotocol(value)
            if not value:
                continue
        outbound.add(name, value)
    return outbound


def without_bearer_subprotocol(value: str) -> str:
    """A Sec-WebSocket-Protocol value without the entry carrying the caller's bearer token."""
    return ", ".join(p.strip() for p in value.split(",")
                     if p.strip() and not p.strip().lower().startswith(BEARER_SUBPROTOCOL_PREFIX))


def outbound_response_headers(inbound: Iterable[tuple[str, str]]) -> CIMultiDict[str]:
    """The upstream response's headers as the client should see them."""
    items = list(inbound)
    drop = HOP_BY_HOP | connection_tokens(items)
    return CIMultiDict((name, value) for name, value in items if name.lower() not in drop)
