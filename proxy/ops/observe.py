"""One wrapper that watches every request, and the sinks that want to know about it.

The access log, the audit log and the metrics all need the same facts (who,
what, how it ended, how long, how many bytes); measuring once and handing a
`RequestRecord` to each sink keeps them consistent and the hot path short.
What the request is comes from its canonical form (proxy/canonical.py), the
request the upstream receives; how it ended, from what the layers inside noted
on its `Exchange` (proxy/exchange.py): the status the client was actually sent
and whether the client, the upstream or the proxy cut it short.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from aiohttp import web

from proxy.errors import ProxyError
from proxy.exchange import (
    BAD_REQUEST,
    CLIENT_CLOSED,
    COMPLETED,
    EXCHANGE,
    PROXY_ERROR,
    RATE_LIMITED,
    UNAUTHENTICATED,
    Exchange,
)
from proxy.identity import identity_of
from proxy.redact import redact
from proxy.routing.canonical import CANONICAL, Attributes
from proxy.routing.filters import Handler
from proxy.routing.kind import RequestKind

# What the status of an answer the proxy gave before serving the request says about why.
_REFUSAL_BY_CODE = {400: BAD_REQUEST, 401: UNAUTHENTICATED, 429: RATE_LIMITED}
# The status recorded when the client left before any status line was sent (nginx's).
CLIENT_CLOSED_REQUEST = 499
_STREAMS = {
    RequestKind.WATCH: "watch",
    RequestKind.WEBSOCKET_WATCH: "websocket",
    RequestKind.UPGRADE: "upgrade",
}


@dataclass(frozen=True)
class RequestRecord:
    method: str
    path: str
    raw_query: str  # as sent: read `query` for logging
    code: int  # the status the client received (499: it left before any was sent)
    outcome: str  # how it ended: proxy.exchange.OUTCOMES
    refusal: str | None  # why the proxy refused it itself: proxy.exchange.REFUSALS
    bytes_in: int
    bytes_out: int
    seconds: float
    user: str | None
    groups: tuple[str, ...]
    source: str | None
    attributes: Attributes | None  # None for a target that could not be read
    stream: str | None  # "watch", "websocket" (a served WebSocket watch), "upgrade", or None
    error: str | None  # the ProxyError class when the proxy itself failed the request

    @property
    def query(self) -> str:
        """The query string with anything credential-like masked (redacted only when asked)."""
        return redact(self.raw_query)


class Sink(Protocol):
    def started(self, stream: str | None) -> None: ...

    def finished(self, record: RequestRecord) -> None: ...


def with_observation(
    handler: Handler, sinks: Sequence[Sink], *, clock: Callable[[], float] = time.monotonic
) -> Handler:
    """Record every request once it is over, as its client saw it.

    Contract: wraps the layers that may refuse a request (limits, filter, authn,
    authz) and the handlers that serve it; the request is canonical already, or
    carries no canonical form (a target refused as unreadable).
    """
    if not sinks:
        return handler

    async def observed(request: web.Request) -> web.StreamResponse:
        exchange = request[EXCHANGE] = Exchange()
        canonical = request.get(CANONICAL)
        stream = _STREAMS.get(canonical.kind) if canonical is not None else None
        for sink in sinks:
            sink.started(stream)
        started = clock()
        code, error, response = None, None, None
        try:
            response = await handler(request)
            return response
        except ProxyError as exc:
            code, error = int(exc.code), type(exc).__name__
            exchange.outcome = exchange.outcome or PROXY_ERROR
            raise
        except (asyncio.CancelledError, ConnectionResetError):
            exchange.outcome = exchange.outcome or CLIENT_CLOSED
            raise
        except web.HTTPException as exc:
            code = exc.status
            raise
        except Exception:
            code, error = 500, "InternalError"
            exchange.outcome = exchange.outcome or PROXY_ERROR
            raise
        finally:
            if exchange.sent_status is not None:
                code = exchange.sent_status
            elif response is not None:
                code = response.status
            elif code is None:
                code = CLIENT_CLOSED_REQUEST
            identity = identity_of(request)
            record = RequestRecord(
                method=request.method,
                path=canonical.path if canonical is not None else request.path,
                raw_query=canonical.raw_query if canonical is not None else request.query_string,
                code=code,
                outcome=exchange.outcome or COMPLETED,
                refusal=_refusal(exchange, code),
                bytes_in=request.content.total_bytes,
                bytes_out=response.body_length if response is not None else 0,
                seconds=clock() - started,
                user=identity.user if identity else None,
                groups=identity.groups if identity else (),
                source=request.remote,
                attributes=canonical.attributes if canonical is not None else None,
                stream=stream,
                error=error,
            )
            for sink in sinks:
                sink.finished(record)

    return observed


def _refusal(exchange: Exchange, code: int) -> str | None:
    """Why the proxy refused the request, if it did: as noted, or as its answer says."""
    if exchange.refusal is not None or exchange.dispatched:
        return exchange.refusal
    return _REFUSAL_BY_CODE.get(code)
