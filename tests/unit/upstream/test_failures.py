"""Transport failures become the `UpstreamError` that answers them."""

from __future__ import annotations

import asyncio
import errno
import ssl

import pytest

from proxy.errors import (
    RequestTooLargeError,
    UpstreamError,
    UpstreamTimeoutError,
    UpstreamTLSError,
    UpstreamUnreachableError,
)
from proxy.upstream.failures import BREAKS, ConnectionLost, broken_off, reaching

REFUSED = ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused")


def verify_error() -> ssl.SSLCertVerificationError:
    error = ssl.SSLCertVerificationError(1, "certificate verify failed")
    error.verify_message = "self-signed certificate"
    return error


def raised_through_reaching(exc: BaseException) -> BaseException:
    with pytest.raises(Exception) as caught, reaching("api:6443", connect_timeout=2.5):
        raise exc
    return caught.value


@pytest.mark.parametrize(
    ("failure", "kind", "message"),
    [
        pytest.param(verify_error(), UpstreamTLSError,
                     "certificate verify failed: self-signed certificate",
                     id="certificate refused"),
        pytest.param(REFUSED, UpstreamUnreachableError,
                     "cannot reach the API server api:6443: connection refused",
                     id="refused"),
        pytest.param(TimeoutError(), UpstreamTimeoutError,
                     "no connection to the API server api:6443 within 2.5s", id="timeout"),
        pytest.param(ssl.SSLError(1, "WRONG_VERSION"), UpstreamTLSError,
                     "TLS handshake with the API server api:6443 failed", id="handshake failed"),
        pytest.param(ConnectionLost("closed before the answer"), UpstreamError,
                     "the API server api:6443 failed the request: closed before the answer",
                     id="connection lost before the head"),
    ],
)
def test_failure_before_the_head_is_mapped(
    failure: BaseException, kind: type[UpstreamError], message: str
) -> None:
    mapped = raised_through_reaching(failure)
    assert type(mapped) is kind
    assert message in str(mapped)
    assert mapped.__cause__ is None and mapped.__suppress_context__


def test_proxys_own_refusal_while_sending_the_body_comes_out_as_it_is() -> None:
    refusal = RequestTooLargeError("the request body is larger than the proxy's limit")
    assert raised_through_reaching(refusal) is refusal


def test_cancellation_is_not_a_failure() -> None:
    with pytest.raises(asyncio.CancelledError), reaching("api:6443", connect_timeout=1):
        raise asyncio.CancelledError


@pytest.mark.parametrize(
    "failure",
    [ConnectionLost("cut"), ConnectionResetError(), asyncio.IncompleteReadError(b"", 10)],
    ids=["lost", "reset", "incomplete"],
)
def test_breaks_after_the_head_are_the_api_server_breaking_off(failure: Exception) -> None:
    assert isinstance(failure, BREAKS)
    mapped = broken_off("the response", failure)
    assert type(mapped) is UpstreamError
    assert str(mapped) == f"the API server broke off the response: {type(failure).__name__}"
