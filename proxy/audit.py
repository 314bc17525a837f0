"""One JSON audit line per request: who, what, how it ended, and who acted upstream.

Never a token: the query string is dropped from the path (tokens travel there
in some clients) and credentials are named by kind only.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable

from aiohttp import web

from proxy.filters import Handler
from proxy.identity import identity_of

audit_log = logging.getLogger("proxy.audit")


def with_audit(handler: Handler, *, acting: Callable[[web.Request], str],
               clock: Callable[[], float] = time.monotonic) -> Handler:
    """Log each request after it ends; `acting` names the upstream credential mode."""

    async def audited(request: web.Request) -> web.StreamResponse:
        started = clock()
        code = 500
        response: web.StreamResponse | None = None
        try:
            response = await handler(request)
            code = response.status
            return response
        finally:
            identity = identity_of(request)
            record = {
                "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "user": identity.user if identity else None,
                "groups": list(identity.groups) if identity else [],
                "source": request.remote,
                "verb": request.method,
                "path": request.path,
                "code": code,
                "bytes": response.body_length if response is not None else 0,
                "duration_ms": round((clock() - started) * 1000, 1),
                "acting_as": acting(request),
            }
            audit_log.info(json.dumps(record, separators=(",", ":")))

    return audited
