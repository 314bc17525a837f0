"""The access log: one line per request for the operator, its query string redacted.

It says the status the client received and how the request ended (`outcome`:
completed, client_closed, upstream_closed, proxy_error), so a watch the client
closed is not mistaken for a failure. Whether it writes is the `proxy.access`
logger's level: by default off at `-v 0` and on from `-v 1`; `--access-log` decides
instead when given.
"""

from __future__ import annotations

import logging

from proxy.exchange import COMPLETED
from proxy.ops.observe import RequestRecord

access_log = logging.getLogger("proxy.access")


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
