"""Which transport carries which requests: the one place `--upstream-protocol` is read.

Requests that end by themselves (REST) and requests that stay open (watches,
followed logs: `long_lived`) may go over different transports; `Upstream`
routes each to its own. `auto` is the choice made by measurement (README,
Performance): the lean HTTP/1.1 transport for REST.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from typing import NamedTuple

from proxy.config import UpstreamProtocol
from proxy.upstream.endpoint import Endpoint
from proxy.upstream.http1_transport import Http1Transport
from proxy.upstream.http2_transport import Http2Transport
from proxy.upstream.transport import Transport


class Transports(NamedTuple):
    """The transport for REST, the one for watches and followed logs (may be the same), and
    every transport to start and close (a fallback used only through another included)."""

    rest: Transport
    stream: Transport
    owned: tuple[Transport, ...]


H2Context = Callable[[ssl.SSLContext], ssl.SSLContext]


def choose_transports(
    protocol: UpstreamProtocol,
    endpoint: Endpoint,
    *,
    connect_timeout: float,
    keepalive: float,
    h2_context: H2Context | None = None,
) -> Transports:
    """The transports of one API server for `--upstream-protocol` `protocol`.

    `h2_context` gives a request's TLS context its twin that offers h2 in ALPN
    (`UpstreamTLS.offering_h2`).
    """
    http1 = Http1Transport(endpoint, connect_timeout=connect_timeout, keepalive=keepalive)
    if protocol == "http1" or (protocol == "auto" and not endpoint.secure):
        # auto over plain http: no h2c, as client-go.
        return Transports(rest=http1, stream=http1, owned=(http1,))
    # HTTP/1.1 (`fallback`) where the server does not take h2.
    http2 = Http2Transport(
        endpoint, connect_timeout=connect_timeout, keepalive=keepalive,
        fallback=http1, h2_context=h2_context,
    )
    if protocol == "http2":
        return Transports(rest=http2, stream=http2, owned=(http2, http1))
    # auto, measured (README, Performance): held watches share connections over h2 (1,000 on
    # 11 instead of 1,001) at a tenth of the memory each, while a 1 KB GET costs about twice
    # the CPU over h2 (pure-Python framing). So: watches and followed logs over h2 where the
    # server takes it (HTTP/1.1 where it does not), REST over HTTP/1.1.
    return Transports(rest=http1, stream=http2, owned=(http2, http1))


def transport_name(transport: Transport) -> str:
    """A transport's `protocol` attribute ("http1", "http2"), else its class name: for the
    start-up log line and `/-/metrics`."""
    name = getattr(transport, "protocol", None)
    return name if isinstance(name, str) else type(transport).__name__

