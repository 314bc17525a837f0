"""The logging filter masks anything credential-shaped."""

from __future__ import annotations

import logging

import pytest

from proxy.redact import RedactingFilter, redact

JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW0ifQ.c2lnbmF0dXJl"


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("Authorization: Bearer abcdef0123456789", "abcdef0123456789"),
        ("authorization: basic YWxpY2U6c2VjcmV0", "YWxpY2U6c2VjcmV0"),
        ("GET /x?access_token=topsecret&watch=1", "topsecret"),
        (f"token {JWT} in text", JWT),
    ],
)
def test_secrets_masked(text: str, secret: str) -> None:
    assert secret not in redact(text)
    assert "<redacted>" in redact(text)


def test_ordinary_text_untouched() -> None:
    text = "GET /api/v1/namespaces/default/configmaps?watch=1 200"
    assert redact(text) == text


def test_filter_rewrites_records_and_tracebacks() -> None:
    record = logging.LogRecord(
        "t", logging.ERROR, __file__, 1, "sent %s", ("Bearer abcdef123456",), None
    )
    assert RedactingFilter().filter(record)
    assert "abcdef123456" not in record.getMessage()
