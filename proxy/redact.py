"""Masking of secrets in text that leaves the process: the one masker, used everywhere.

Code never logs a credential on purpose; this catches the accident (an
exception quoting a header, a URL with a token in its query) and masks text
the proxy did not write (an exec plugin's stderr, a traceback).

`redact` masks what is credential-shaped by its context: key/value pairs whose
key names a secret (JSON, YAML, `k=v`, `k: v`, headers), `Bearer`/`Basic`
values, JWTs, PEM private key blocks, URL userinfo and the WebSocket bearer
subprotocol. `redact_output` also masks long opaque runs (random-looking
strings): right for foreign text, too eager for access lines (pod names).
Every mask keeps JSON intact, so a formatted JSON log line can be masked whole.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from proxy.headers import BEARER_SUBPROTOCOL_PREFIX

MASK = "<redacted>"

# Words that, as part of a key (`client-secret`, `X-Auth-Token`, `sessionToken`), name a secret.
_SECRET_WORDS = frozenset({
    "token", "tokens", "password", "passwords", "passwd", "pwd", "secret", "secrets",
    "key", "keys", "credential", "credentials", "creds", "auth", "authorization",
    "session", "cookie", "cookies", "apikey", "passphrase", "signature",
})
_SECRET_SUFFIXES = ("token", "password", "passwd", "secret", "key", "credential",
                    "credentials", "cookie")
# A key ending in one of these names something about a secret, not the secret itself
# (`tokenFile`, `token_type`, `auth-provider`).
_BENIGN_LAST_WORDS = frozenset({
    "file", "files", "path", "paths", "dir", "type", "types", "url", "uri", "endpoint",
    "name", "names", "expiry", "expires", "expiration", "ttl", "count", "length", "size",
    "mode", "kind", "format", "provider", "hint", "source", "sources", "env", "version",
    "algorithm", "alg", "usage", "usages", "policy",
})
# Unquoted values that are words of a message, not secrets (`user.token: must be a string`).
_PROSE_VALUES = frozenset({
    "a", "an", "the", "is", "are", "was", "not", "no", "none", "null", "nil", "true", "false",
    "missing", "must", "cannot", "empty", "invalid", "expired", "required", "unset", "set",
    "failed", "refused", "found", "given", "see", "use", "only", "needs", "should", "has",
    "and", "or", "from", "in", "for", "with", "to", "of", "on", "at", "ok",
})
# The proxy's own environment variables (KUBE_AUTH_PROXY_PORT): judged by what follows.
_OWN_PREFIX = ["kube", "auth", "proxy"]
# Keys whose whole value (to the end of the line) is secret: headers with several parts.
_WHOLE_LINE_KEYS = r"(?:proxy-)?authorization|(?:set-)?cookie"

_PEM_PRIVATE_KEY = re.compile(
    r"-----BEGIN (?P<label>[A-Z0-9 ]*PRIVATE KEY[A-Z0-9 ]*)-----"
    r"(?:.*?-----END (?P=label)-----|[^\"]*)",  # an unterminated block: to the end (or quote)
    re.DOTALL,
)
_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)[^\s/?#@\"'\\<>]+@")
_BEARER_SUBPROTOCOL = re.compile(f"({re.escape(BEARER_SUBPROTOCOL_PREFIX)})[A-Za-z0-9_=-]+")
_AUTH_SCHEME = re.compile(
    r"(?i)\b(bearer|basic)(\s+)"
    r"(?!(?:token|tokens|auth|authentication|authorization|credentials?|scheme|realm|header"
    r"|subprotocol)\b)([^\s\"'\\,;]+)"
)
_WHOLE_LINE = re.compile(
    rf"(?i)(?<![A-Za-z0-9_.\-])({_WHOLE_LINE_KEYS})(\\?[\"']?\s*[:=]\s*)([^\s\"\\'][^\r\n\"\\]*)"
)
_KEY_VALUE = re.compile(
    r"(?<![A-Za-z0-9_.\-])(?P<key>[A-Za-z0-9_.\-]*[A-Za-z0-9])"
    r"(?P<sep>\\?[\"']?\s*(?::=|=>|[:=])\s*(?:\[\s*)?)"  # `[` opens a Go header dump
    r"(?P<value>\\\"(?:(?!\\\").)*\\\"|\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'"
    r"|[^\s\"'\\,;&{}\[\]]+)"
)
_LINE_END = re.compile(r"[\r\n]")
_BLOCK_SCALAR = re.compile(r"[|>][-+]?[0-9]?")
_INDENTED_LINE = re.compile(r"\n([ \t]*)\S[^\n]*")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{8,}(?:\.[A-Za-z0-9_-]*){0,2}")
# Long runs of token alphabet with letters and digits: opaque tokens, keys, base64 blobs.
_SOURCE_FILES = (".py", ".pyc", ".pyx", ".so")
_OPAQUE = re.compile(r"(?<![A-Za-z0-9_+=.\-])[A-Za-z0-9_+=.\-]{16,}")
# Every rule above needs one of these (lower-cased): text without any is returned as it is.
_TRIGGERS = ("token", "pass", "pwd", "secret", "key", "cred", "auth", "session", "cookie",
             "signature", "bearer", "basic", "eyj", "@")
_CAMEL_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")


def redact(text: str) -> str:
    """The text with anything that looks like a credential replaced by `<redacted>`."""
    lowered = text.lower()
    if not any(word in lowered for word in _TRIGGERS):  # the common case: an access line
        return text
    text = _PEM_PRIVATE_KEY.sub(_mask_pem, text)
    text = _URL_USERINFO.sub(lambda m: f"{m.group(1)}{MASK}@", text)
    text = _BEARER_SUBPROTOCOL.sub(lambda m: f"{m.group(1)}{MASK}", text)
    text = _AUTH_SCHEME.sub(_mask_auth_scheme, text)
    text = _WHOLE_LINE.sub(_mask_whole_line, text)
    text = _mask_key_values(text)
    return _JWT.sub(MASK, text)


def redact_output(text: str) -> str:
    """`redact`, and long opaque runs masked too: for text the proxy did not write."""
    return _OPAQUE.sub(_mask_opaque, redact(text))


def names_secret(key: str) -> bool:
    """Whether a key (`client-secret`, `X-Auth-Token`, `sessionToken`) names a secret value."""
    words = [w.lower() for w in _CAMEL_WORDS.findall(key)]
    if words[:3] == _OWN_PREFIX:  # KUBE_AUTH_PROXY_*: "auth" names the product, not a secret
        words = words[3:]
    if not words or words[-1] in _BENIGN_LAST_WORDS:
        return False
    return any(w in _SECRET_WORDS or w.endswith(_SECRET_SUFFIXES) for w in words)


def _mask_pem(match: re.Match[str]) -> str:
    label = match.group("label")
    return f"-----BEGIN {label}-----{MASK}-----END {label}-----"


def _mask_auth_scheme(match: re.Match[str]) -> str:
    scheme, space, value = match.groups()
    if value.lower() in _PROSE_VALUES or value.startswith(MASK):
        return match.group(0)
    if scheme.lower() == "basic" and (len(value) < 6 or (value.isalpha() and value.islower())):
        return match.group(0)  # "basic checks": prose, not base64
    return f"{scheme}{space}{MASK}"


def _mask_whole_line(match: re.Match[str]) -> str:
    key, sep, value = match.groups()
    return match.group(0) if value == MASK else f"{key}{sep}{MASK}"


def _mask_key_values(text: str) -> str:
    """Mask the values of secret-naming keys; any other key's value is scanned in turn
    (a JSON string holding `token: x` is a value of `message`)."""
    parts: list[str] = []
    position = 0
    while (match := _KEY_VALUE.search(text, position)) is not None:
        if not names_secret(match.group("key")):
            parts.append(text[position:match.end("sep")])
            position = match.end("sep")
            continue
        value = match.group("value")
        parts.append(text[position:match.start("value")])
        parts.append(_masked_value(value))
        position = match.end()
        if _BLOCK_SCALAR.fullmatch(value):
            position = _end_of_block(text, key_start=match.start("key"), after=position)
        elif _opens_line(text, match) and parts[-1] == MASK:
            # YAML and headers: a key that starts its line owns the rest of it (`k: a b`).
            newline = _LINE_END.search(text, position)
            position = newline.start() if newline else len(text)
    parts.append(text[position:])
    return "".join(parts)


def _opens_line(text: str, match: re.Match[str]) -> bool:
    """Whether a `key:` (not `key=`) is the first thing on its line, as in YAML or a header."""
    if ":" not in match.group("sep"):
        return False
    line_start = max(text.rfind("\n", 0, match.start("key")), text.rfind("\r", 0,
                     match.start("key"))) + 1
    return not text[line_start:match.start("key")].strip(" \t-\"'")


def _end_of_block(text: str, *, key_start: int, after: int) -> int:
    """Where a YAML block scalar (`key: |` and the lines indented under it) ends."""
    line_start = text.rfind("\n", 0, key_start) + 1
    indent = len(text[line_start:key_start]) - len(text[line_start:key_start].lstrip(" -"))
    position = after
    while (block_line := _INDENTED_LINE.match(text, position)) is not None:
        if len(block_line.group(1)) <= indent:
            break
        position = block_line.end()
    return position


def _masked_value(value: str) -> str:
    if MASK in value:
        return value
    for quote in ('\\"', '"', "'"):
        if len(value) >= 2 * len(quote) and value.startswith(quote) and value.endswith(quote):
            return value if len(value) == 2 * len(quote) else f"{quote}{MASK}{quote}"
    return value if value.lower() in _PROSE_VALUES else MASK


def _mask_opaque(match: re.Match[str]) -> str:
    run = match.group(0)
    if run.endswith(_SOURCE_FILES):  # a traceback's `http1_transport.py`, not a token
        return run
    has_letter = any(c.isalpha() for c in run)
    has_digit = any(c.isdigit() for c in run)
    return MASK if has_letter and has_digit else run


def mask_helper_output(text: str, *, lines: int = 20, width: int = 500) -> str:
    """The last lines of a helper's stderr, masked, for the proxy's own log (never a client)."""
    masked = redact_output(text)  # whole, so that a PEM block or a YAML block is one unit
    kept = [line.rstrip() for line in masked.splitlines() if line.strip()][-lines:]
    return "\n".join(line[:width] for line in kept)


def mask_record(record: logging.LogRecord) -> logging.LogRecord:
    """Mask a record's message, traceback and stack in place, once.

    The traceback is masked as foreign text (`redact_output`): an exception's
    message may quote anything.
    """
    if getattr(record, _MASKED, False):
        return record
    try:
        message = record.getMessage()
    except Exception:  # a malformed call: leave it for the handler to report
        return record
    cleaned = redact(message)
    if cleaned != message:
        record.msg, record.args = cleaned, None
    if record.exc_info and record.exc_info[1] is not None:
        record.exc_text = redact_output(_PLAIN.formatException(record.exc_info))
    elif record.exc_text:
        record.exc_text = redact_output(record.exc_text)
    if record.stack_info:
        record.stack_info = redact_output(record.stack_info)
    setattr(record, _MASKED, True)
    return record


_MASKED = "secrets_masked"
_PLAIN = logging.Formatter()


class RedactingFilter(logging.Filter):
    """A handler filter that masks each record before formatting (`mask_record`);
    `RedactingFormatter` masks the final line again."""

    def filter(self, record: logging.LogRecord) -> bool:
        mask_record(record)
        return True


def mask_log_records() -> None:
    """Mask every record as it is made, before any handler sees it: ours, a test's
    capture, a library's. Idempotent; the handlers' own masking stays as a second line."""
    current = logging.getLogRecordFactory()
    if getattr(current, _MASKED, False):
        return

    def make(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return mask_record(current(*args, **kwargs))

    setattr(make, _MASKED, True)
    logging.setLogRecordFactory(make)


class RedactingFormatter(logging.Formatter):
    """Wraps a formatter and masks its final string: whatever a formatter adds is covered."""

    def __init__(self, inner: logging.Formatter) -> None:
        super().__init__()
        self._inner = inner

    def format(self, record: logging.LogRecord) -> str:
        return redact(self._inner.format(record))


def install_redaction(handler: logging.Handler) -> logging.Handler:
    """Mask every record the handler writes: before formatting and after (text or JSON)."""
    handler.addFilter(RedactingFilter())
    handler.setFormatter(RedactingFormatter(handler.formatter or logging.Formatter()))
    return handler
