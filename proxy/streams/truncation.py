"""What to do when an answer breaks off after its head went to the client."""

from __future__ import annotations

import logging

from aiohttp import web

from proxy.exchange import UPSTREAM_CLOSED, note_outcome

log = logging.getLogger(__name__)


def abort_truncated(request: web.Request, reason: object) -> None:
    """Abort the client's connection: the status line is sent, so ending the body normally
    would pass a truncated answer off as complete (Go's ReverseProxy does the same)."""
    log.warning("%s %s: %s", request.method, request.path, reason)
    note_outcome(request, UPSTREAM_CLOSED)
    if request.transport is not None:
        request.transport.abort()
