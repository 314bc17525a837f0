"""The one masker: every credential shape it knows is masked, ordinary text is left alone."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from proxy.redact import (
    RedactingFilter,
    install_redaction,
    mask_helper_output,
    mask_log_records,
    names_secret,
    redact,
    redact_output,
)
from proxy.serving.run import JSONFormatter

JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW0ifQ.c2lnbmF0dXJl"
PEM_BODY = "MIIEpAIBAAKCAQEA7x2secretpembody"


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        pytest.param("Authorization: Bearer abcdef0123456789", "abcdef0123456789",
                     id="authorization header"),
        pytest.param("sent bearer xyz-short", "xyz-short", id="bearer value in prose"),
        pytest.param("authorization: basic YWxpY2U6c2VjcmV0", "YWxpY2U6c2VjcmV0",
                     id="basic credentials"),
        pytest.param("GET /x?access_token=topsecret&watch=1", "topsecret", id="query parameter"),
        pytest.param(f"token {JWT} in text", JWT, id="bare JWT"),
        pytest.param("token: s3cr3t-t0k3n-0003", "s3cr3t-t0k3n-0003", id="YAML token"),
        pytest.param('{"token":"ya29.short"}', "ya29.short", id="compact JSON token"),
        pytest.param('{"access_token": "ya29.a0Af", "expires_in": 3599}', "ya29.a0Af",
                     id="JSON access_token"),
        pytest.param("{'password': 'hunter2'}", "hunter2", id="Python dict repr"),
        pytest.param("PASSWORD=hunter2 user=bob", "hunter2", id="upper-case k=v"),
        pytest.param("passwd:hunter2", "hunter2", id="k:v without space"),
        pytest.param('client_secret: "cs value with spaces"', "cs value with spaces",
                     id="quoted YAML client_secret"),
        pytest.param("Client-Secret = cs-77", "cs-77", id="spaced equals"),
        pytest.param("refresh_token=rt.abc&client_id=x", "rt.abc", id="form body"),
        pytest.param("id_token: abc.def", "abc.def", id="id_token"),
        pytest.param("X-Api-Key: k-123", "k-123", id="API key header"),
        pytest.param("apikey=k-123", "k-123", id="apikey"),
        pytest.param("AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI", "wJalrXUtnFEMI",
                     id="environment variable"),
        pytest.param("sessionToken: IQoJb3JpZ2lu", "IQoJb3JpZ2lu", id="camelCase key"),
        pytest.param("credentials=c-1", "c-1", id="credentials"),
        pytest.param("auth: a-1", "a-1", id="auth"),
        pytest.param("session=s-1; Path=/", "s-1", id="session cookie pair"),
        pytest.param("Cookie: a=1; sid=s-2", "s-2", id="cookie header, every part"),
        pytest.param("--token=flag-value", "flag-value", id="command-line flag"),
        pytest.param('"token": "esc\\"aped"', 'esc\\"aped', id="escaped quote inside value"),
        pytest.param('{\\"token\\":\\"nested-json\\"}', "nested-json", id="JSON inside JSON"),
        pytest.param("status:\n  clientKeyData: |\n    blockline1\n    blockline2\n  x: 1",
                     "blockline", id="YAML block scalar"),
        pytest.param(f"-----BEGIN RSA PRIVATE KEY-----\n{PEM_BODY}\n-----END RSA PRIVATE KEY-----",
                     PEM_BODY, id="PEM private key"),
        pytest.param(f"-----BEGIN PRIVATE KEY-----\n{PEM_BODY}", PEM_BODY,
                     id="unterminated PEM block"),
        pytest.param("https://alice:pw-123@idp.example/token", "pw-123", id="URL userinfo"),
        pytest.param("password: correct horse battery", "horse battery",
                     id="YAML value with spaces owns its line"),
        pytest.param("map[X-Auth-Token:[goheader-1] Accept:[*/*]]", "goheader-1",
                     id="Go header dump"),
        pytest.param('"X-Api-Key": ["jsonlist-2"]', "jsonlist-2", id="header list in JSON"),
        pytest.param("&{Token:gostruct-3 Expiry:2030}", "gostruct-3", id="Go struct"),
        pytest.param("Sec-WebSocket-Protocol: base64url.bearer.authorization.k8s.io.YWJjZGVm",
                     "YWJjZGVm", id="WebSocket bearer subprotocol"),
    ],
)
def test_secret_masked_in_every_form(text: str, secret: str) -> None:
    masked = redact(text)
    assert secret not in masked
    assert "<redacted>" in masked


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("GET /api/v1/namespaces/default/configmaps?watch=1 200", id="access line"),
        pytest.param("GET /api/v1/namespaces/default/pods/web-7d9f8b6c5d-x2x9z 200",
                     id="pod name with a hash"),
        pytest.param("k: users[name=alice].user.token: must be a string, not a mapping",
                     id="kubeconfig field error"),
        pytest.param("users[name=a].user.tokenFile: no such file", id="token file field"),
        pytest.param("auth-provider: oidc", id="auth provider name"),
        pytest.param("invalid bearer token", id="bearer token in prose"),
        pytest.param("basic checks passed", id="basic in prose"),
        pytest.param('{"token_type": "Bearer", "expires_in": 3600}', id="token metadata"),
    ],
)
def test_ordinary_text_untouched(text: str) -> None:
    assert redact(text) == text


@pytest.mark.parametrize(
    ("key", "secret"),
    [("client-secret", True), ("X-Auth-Token", True), ("sessionToken", True), ("APIKEY", True),
     ("private_key", True), ("Set-Cookie", True), ("tokenFile", False), ("token_type", False),
     ("auth-provider", False), ("client-id", False), ("certificate-authority-data", False)],
)
def test_names_secret(key: str, secret: bool) -> None:
    assert names_secret(key) is secret


def test_json_line_masked_and_still_json() -> None:
    line = json.dumps({"message": 'stderr: token: "t-1" {"password":"p-2"} secret=s-3\nnext',
                       "error": "Traceback\n  Authorization: Bearer b-4\n  done"})
    masked = redact(line)
    for secret in ("t-1", "p-2", "s-3", "b-4"):
        assert secret not in masked
    assert json.loads(masked)["error"].endswith("\n  done")


def test_opaque_runs_masked_only_in_foreign_text() -> None:
    line = "error: s3cr3t-t0k3n-0003 rejected by /usr/lib/python3.11/site-packages/x.py"
    assert "s3cr3t-t0k3n-0003" in redact(line)
    masked = redact_output(line)
    assert "s3cr3t-t0k3n-0003" not in masked
    assert "rejected by /usr/lib/python3.11/site-packages/x.py" in masked


def test_the_proxys_own_variables_are_judged_by_what_follows_the_prefix() -> None:
    assert redact("KUBE_AUTH_PROXY_UPSTREAM_PROTOCOL: 'bogus'") == (
        "KUBE_AUTH_PROXY_UPSTREAM_PROTOCOL: 'bogus'")
    assert "s3cr3t" not in redact("KUBE_AUTH_PROXY_TOKEN=s3cr3t")
    assert "s3cr3t" not in redact("X-Auth=s3cr3t")


def test_a_tracebacks_source_file_names_are_not_taken_for_tokens() -> None:
    frame = '  File "/work/proxy/upstream/http1_transport.py", line 212, in send'
    assert redact_output(frame) == frame
    assert "k8s4tok3n9value0001" not in redact_output("token k8s4tok3n9value0001.pyz")


def test_helper_output_keeps_the_last_lines_masked() -> None:
    stderr = "\n".join(f"line {n}" for n in range(30)) + "\ntoken: tail-secret\n"
    masked = mask_helper_output(stderr, lines=3)
    assert masked.splitlines() == ["line 28", "line 29", "token: <redacted>"]


@pytest.fixture
def logged() -> Iterator[tuple[logging.Logger, io.StringIO, logging.Handler]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger("tests.redact")
    logger.addHandler(handler)
    logger.propagate = False
    yield logger, stream, handler
    logger.removeHandler(handler)
    logger.propagate = True


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_tracebacks_and_stacks_masked_in_both_formats(
    logged: tuple[logging.Logger, io.StringIO, logging.Handler], log_format: str
) -> None:
    logger, stream, handler = logged
    handler.setFormatter(JSONFormatter() if log_format == "json" else logging.Formatter())
    install_redaction(handler)
    try:
        try:
            raise RuntimeError('upstream said {"client_secret": "cs-in-exception"}')
        except RuntimeError as exc:
            raise ValueError("password: pw-in-cause-chain") from exc
    except ValueError:
        logger.exception("failed with %s", "refresh_token=rt-in-args")
    logger.warning("here", stack_info=True, extra={"http": {"query": "token=t-in-extra"}})
    output = stream.getvalue()
    for secret in ("cs-in-exception", "pw-in-cause-chain", "rt-in-args", "t-in-extra"):
        assert secret not in output
    assert "RuntimeError" in output and "Stack (most recent call last)" in output
    if log_format == "json":
        entries = [json.loads(line) for line in output.splitlines()]
        assert "Traceback" in entries[0]["error"] and "stack" in entries[1]


def test_filter_rewrites_records_and_tracebacks() -> None:
    record = logging.LogRecord(
        "t", logging.ERROR, __file__, 1, "sent %s", ("Bearer abcdef123456",), None
    )
    assert RedactingFilter().filter(record)
    assert "abcdef123456" not in record.getMessage()


def test_records_masked_as_made_for_any_handler(
    logged: tuple[logging.Logger, io.StringIO, logging.Handler],
) -> None:
    logger, stream, _ = logged  # a bare handler: no filter, no redacting formatter
    previous = logging.getLogRecordFactory()
    try:
        mask_log_records()
        mask_log_records()  # idempotent: one wrapper
        try:
            raise RuntimeError("password: pw-raw-handler")
        except RuntimeError:
            logger.exception("sent %s", "Authorization: Bearer raw-handler-bearer")
    finally:
        logging.setLogRecordFactory(previous)
    output = stream.getvalue()
    assert "RuntimeError" in output
    assert "pw-raw-handler" not in output and "raw-handler-bearer" not in output
