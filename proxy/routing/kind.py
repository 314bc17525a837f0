"""A request's kind: REST, a watch (chunked or over WebSocket), or an upgrade.

Decided once, from the canonical request (`routing.canonical` stores it there), so the
choice between forwarding, serving a watch and splicing an upgrade, the authorizer's
verb and the metrics' stream label all rest on one reading: the API server's.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import TYPE_CHECKING

from aiohttp import hdrs

from proxy.headers import connection_tokens

if TYPE_CHECKING:
    from proxy.routing.canonical import Attributes, CanonicalRequest

# The only protocols that count as upgrades (lower case); any other Upgrade is dropped.
UPGRADE_PROTOCOLS = frozenset({"websocket", "spdy/3.1"})


class RequestKind(enum.Enum):
    """How the proxy serves a request."""

    REST = "rest"
    WATCH = "watch"  # a chunked watch
    WEBSOCKET_WATCH = "websocket_watch"  # a watch over WebSocket, served by the proxy
    UPGRADE = "upgrade"  # exec, attach, port-forward, proxy: spliced through


def upgrade_protocol(headers: Mapping[str, str]) -> str | None:
    """The protocol a request asks to switch to, if it is one passed through."""
    if "upgrade" not in connection_tokens(headers.items()):
        return None
    value = headers.get(hdrs.UPGRADE, "").strip()
    return value if value.lower() in UPGRADE_PROTOCOLS else None


def request_kind(method: str, attributes: Attributes, *, upgrade: str | None) -> RequestKind:
    """Served by the proxy (a watch, over WebSocket or chunked), spliced, or forwarded."""
    watch = attributes.verb == "watch" and method == "GET"
    if upgrade is not None:
        is_websocket = upgrade.lower() == "websocket"
        return RequestKind.WEBSOCKET_WATCH if watch and is_websocket else RequestKind.UPGRADE
    return RequestKind.WATCH if watch else RequestKind.REST


def is_watch_request(request: CanonicalRequest) -> bool:
    """A GET the API server reads as a watch: `?watch` on a collection in any spelling but
    `0`/`false` (not on one object: that is a plain get), or the legacy `/watch/` paths."""
    return request.kind in (RequestKind.WATCH, RequestKind.WEBSOCKET_WATCH)
