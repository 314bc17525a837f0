"""The audit and access logs: sinks of `RequestRecord`s, never holding a token.

Audit: one JSON object per request (who, from where, what, how it ended, who
acted upstream), for the security trail. Access: one line per request for the
operator, its query string redacted. Both say the status the client received and
how the request ended (`outcome`: completed, client_closed, upstream_closed, proxy_error),
so a watch the client closed is not mistaken for a failure.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable

from proxy.exchange import COMPLETED
from proxy.ops.observe import RequestRecord

audit_log = logging.getLogger("proxy.audit")
access_log = logging.getLogger("proxy.access")


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


class AccessLogSink:
    def started(self, stream: str | None) -> None:
        return None

    def finished(self, record: RequestRecord) -> None:
        if not access_log.isEnabledFor(logging.INFO):
            return
        query = record.query
        target = f"{record.path}?{query}" if query else record.path
        access_log.info(
            "%s %s %d %dB %.1fms%s%s",
            record.method, target, record.code, record.bytes_out, record.seconds * 1000,
            f" user={record.user}" if record.user else "",
            f" outcome={record.outcome}" if record.outcome != COMPLETED else "",
            extra={"http": {"method": record.method, "path": record.path,
                            "query": query, "code": record.code,
                            "outcome": record.outcome,
                            "bytes": record.bytes_out,
                            "duration_ms": round(record.seconds * 1000, 1),
                            "user": record.user, "source": record.source}},
        )
