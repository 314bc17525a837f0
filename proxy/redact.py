"""Masking of secrets in log records: the last line of defence, not the first.

Code never logs a credential on purpose; this filter catches the accident
(an exception text quoting a header, a URL with a token in its query).
"""

from __future__ import annotations

import logging
import re

_PATTERNS = (
    # Authorization header values.
    re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{6,}"),
    # Query parameters and fields that carry secrets.
    re.compile(r"(?i)\b(access_token|id_token|refresh_token|token|password)=[^&\s\"']+"),
    # JWTs wherever they appear.
    re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"),
)


def redact(text: str) -> str:
    """The text with anything that looks like a credential replaced by a mask."""
    for pattern in _PATTERNS:
        text = pattern.sub(_mask, text)
    return text


def _mask(match: re.Match[str]) -> str:
    if match.lastindex:
        sep = "=" if "=" in match.group(0) else " "
        return f"{match.group(1)}{sep}<redacted>"
    return "<redacted>"


class RedactingFilter(logging.Filter):
    """A handler filter that rewrites each record's final message through `redact`."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return True


# Long runs of token alphabet: opaque tokens, keys, base64 blobs.
_OPAQUE = re.compile(r"[A-Za-z0-9_.+=-]{24,}")


def summarise_output(text: str, *, lines: int = 3, width: int = 200) -> str:
    """The last few lines of a helper's stderr, masked, for an error message."""
    kept = [line.strip() for line in text.splitlines() if line.strip()][-lines:]
    masked = [_OPAQUE.sub("<redacted>", redact(line))[:width] for line in kept]
    return " | ".join(masked)
