"""One wrapper that watches every request, and the sinks that want to know about it.

The access log, the audit log and the metrics all need the same facts (who,
what, how it ended, how long, how many bytes); measuring once and handing a
`RequestRecord` to each sink keeps them consistent and the hot path short.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from aiohttp import web

from proxy.authz.attributes import Attributes, request_attributes
from proxy.errors import ProxyError
from proxy.filters import Handler
from proxy.identity import identity_of
from proxy.redact import redact
from proxy.upgrade import upgrade_protocol


@dataclass(frozen=True)
class RequestRecord:
    method: str
    path: str
    raw_query: str  # as sent: read `query` for logging
    code: int
    bytes_in: int
    bytes_out: int
    seconds: float
    user: str | None
    groups: tuple[str, ...]
    source: str | None
    attributes: Attributes
    stream: str | None  # "watch", "websocket" (a served WebSocket watch), "upgrade", or None
    error: str | None  # the ProxyError class when the proxy itself failed the request

    @property
    def query(self) -> str:
        """The query string with anything credential-like masked (redacted only when asked)."""
        return redact(self.raw_query)


def stream_kind(request: web.Request, attributes: Attributes) -> str | None:
    """Long-lived requests, which metrics count as open streams rather than as latency."""
    protocol = upgrade_protocol(request.headers)
    if protocol is not None:
        return "websocket" if attributes.verb == "watch" else "upgrade"
    return "watch" if attributes.verb == "watch" else None


class Sink(Protocol):
    def started(self, request: web.Request, attributes: Attributes, stream: str | None) -> None:
        ...

    def finished(self, record: RequestRecord) -> None: ...


def with_observation(
    handler: Handler, sinks: Sequence[Sink], *, clock: Callable[[], float] = time.monotonic
) -> Handler:
    if not sinks:
        return handler

    async def observed(request: web.Request) -> web.StreamResponse:
        attributes = request_attributes(request.method, request.raw_path)
        stream = stream_kind(request, attributes)
        for sink in sinks:
            sink.started(request, attributes, stream)
        started = clock()
        code, error, response = 500, None, None
        try:
            response = await handler(request)
            code = response.status
            return response
        except ProxyError as exc:
            code, error = int(exc.code), type(exc).__name__
            raise
        finally:
            identity = identity_of(request)
            record = RequestRecord(
                method=request.method,
                path=request.path,
                raw_query=request.query_string,
                code=code,
                bytes_in=request.content.total_bytes,
                bytes_out=response.body_length if response is not None else 0,
                seconds=clock() - started,
                user=identity.user if identity else None,
                groups=identity.groups if identity else (),
                source=request.remote,
                attributes=attributes,
                stream=stream,
                error=error,
            )
            for sink in sinks:
                sink.finished(record)

    return observed
