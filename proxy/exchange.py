"""What the layers serving one request tell its observation: refused why, sent what, ended how.

The observation wrapper (proxy/observe.py) records a request once it is over, but
only the layers inside know that the filter refused it, which status line the
client actually received, or that the upstream broke off mid-body. They say so
here, on a slot shared by every clone of the request; this module imports nothing
of the proxy's, so any layer may use it.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

# How a request ended (the `outcome` metric label and log field).
COMPLETED = "completed"  # the response went out whole, whatever its status
CLIENT_CLOSED = "client_closed"  # the client left before the response ended
UPSTREAM_CLOSED = "upstream_closed"  # the API server broke off; the proxy cut the client
PROXY_ERROR = "proxy_error"  # the proxy failed the request (its own error Status)
OUTCOMES = (COMPLETED, CLIENT_CLOSED, UPSTREAM_CLOSED, PROXY_ERROR)

# Why the proxy refused a request itself (the metrics' `resource` label for refusals).
FILTERED = "filter"
UNAUTHENTICATED = "unauthenticated"
FORBIDDEN = "forbidden"
BAD_REQUEST = "bad_request"
RATE_LIMITED = "rate_limited"
REFUSALS = (FILTERED, UNAUTHENTICATED, FORBIDDEN, BAD_REQUEST, RATE_LIMITED)


@dataclass(eq=False)
class Exchange:
    """One request's slot; aiohttp copies request state shallowly, so clones share it."""

    dispatched: bool = False  # reached the handler that serves it (forward, watch, upgrade)
    refusal: str | None = None
    sent_status: int | None = None  # the status line the client received, once sent
    outcome: str | None = None


EXCHANGE = web.RequestKey("exchange", Exchange)


def note_dispatched(request: web.Request) -> None:
    """The request passed every check and is being served."""
    exchange = request.get(EXCHANGE)
    if exchange is not None:
        exchange.dispatched = True


def note_refusal(request: web.Request, why: str) -> None:
    """The proxy refused the request itself (one of `REFUSALS`)."""
    exchange = request.get(EXCHANGE)
    if exchange is not None:
        exchange.refusal = why


def note_outcome(request: web.Request, outcome: str) -> None:
    """How the response ended, when the handler knows better than its return (`OUTCOMES`)."""
    exchange = request.get(EXCHANGE)
    if exchange is not None:
        exchange.outcome = outcome


async def note_sent_status(request: web.Request, response: web.StreamResponse) -> None:
    """`app.on_response_prepare`: the status line goes out now; it is what the client saw."""
    exchange = request.get(EXCHANGE)
    if exchange is not None:
        exchange.sent_status = response.status
