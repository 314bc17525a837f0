"""RFC 3339 times as the API server and exec plugins write them (`expirationTimestamp`)."""

from __future__ import annotations

import datetime as dt


def parse_rfc3339(text: str) -> float | None:
    """Seconds since the epoch, or None when `text` is not a time; a time without a zone is UTC.

    One parser for every credential that carries an expiry, so they all accept the same
    spellings (`Z` or an offset, fractional seconds or none).
    """
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.timestamp()
