"""The audit log: one JSON object per request, for the security trail; never a token.

Who (user, groups, source address), what (verb, path), how it ended (the status the
client received, and `outcome`: completed, client_closed, upstream_closed, proxy_error,
so a watch the client closed is not mistaken for a failure) and who acted upstream.
The operator's one-line view of the same records is the access log (access_log.py).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable

from proxy.ops.observe import RequestRecord

audit_log = logging.getLogger("proxy.audit")


class AuditSink:
    def __init__(self, *, acting: Callable[[], str]):
        self._acting = acting

    def started(self, stream: str | None) -> None:
        return None

    def finished(self, record: RequestRecord) -> None:
        audit_log.info(json.dumps({
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "user": record.user,
            "groups": list(record.groups),
            "source": record.source,
            "verb": record.method,
            "path": record.path,
            "code": record.code,
            "outcome": record.outcome,
            "refused": record.refusal,
            "bytes": record.bytes_out,
            "duration_ms": round(record.seconds * 1000, 1),
            "acting_as": self._acting(),
        }, separators=(",", ":")))

