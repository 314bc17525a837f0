"""Transport failures become the `UpstreamError` that answers them, from aiohttp or asyncio."""

from __future__ import annotations

import asyncio
import errno
import ssl

import aiohttp
import pytest
from aiohttp.client_reqrep import ConnectionKey

from proxy.errors import (
    RequestTooLargeError,
    UpstreamError,
    UpstreamTimeoutError,
    UpstreamTLSError,
    UpstreamUnreachableError,
)
from proxy.upstream.failures import BREAKS, broken_off, reaching

KEY = ConnectionKey("api", 6443, True, True, None, None, None)
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
        pytest.param(aiohttp.ClientConnectorCertificateError(KEY, verify_error()),
                     UpstreamTLSError, "certificate verify failed: self-signed certificate",
                     id="aiohttp certificate refused"),
        pytest.param(verify_error(), UpstreamTLSError,
                     "certificate verify failed: self-signed certificate",
                     id="asyncio certificate refused"),
        pytest.param(aiohttp.ClientConnectorSSLError(KEY, ssl.SSLError(1, "WRONG_VERSION")),
                     UpstreamTLSError, "TLS handshake with the API server api:6443 failed",
                     id="aiohttp handshake failed"),
        pytest.param(aiohttp.ClientConnectorError(KEY, REFUSED), UpstreamUnreachableError,
                     "cannot reach the API server api:6443: connection refused",
                     id="aiohttp refused"),
        pytest.param(REFUSED, UpstreamUnreachableError,
                     "cannot reach the API server api:6443: connection refused",
                     id="asyncio refused"),
        pytest.param(aiohttp.ConnectionTimeoutError(), UpstreamTimeoutError,
                     "no connection to the API server api:6443 within 2.5s",
                     id="aiohttp timeout"),
        pytest.param(TimeoutError(), UpstreamTimeoutError, "within 2.5s", id="asyncio timeout"),
        pytest.param(aiohttp.ServerDisconnectedError(), UpstreamError,
                     "the API server api:6443 failed the request: ServerDisconnectedError",
                     id="disconnected before the head"),
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
    wrapped = aiohttp.ClientOSError()
    wrapped.__cause__ = refusal
    assert raised_through_reaching(wrapped) is refusal
    assert raised_through_reaching(refusal) is refusal


def test_cancellation_is_not_a_failure() -> None:
    with pytest.raises(asyncio.CancelledError), reaching("api:6443", connect_timeout=1):
        raise asyncio.CancelledError


@pytest.mark.parametrize(
    "failure",
    [aiohttp.ClientPayloadError("cut"), aiohttp.ServerDisconnectedError(),
     ConnectionResetError(), asyncio.IncompleteReadError(b"", 10)],
    ids=["payload", "disconnected", "reset", "incomplete"],
)
def test_breaks_after_the_head_are_the_api_server_breaking_off(failure: Exception) -> None:
    assert isinstance(failure, BREAKS)
    mapped = broken_off("the response", failure)
    assert type(mapped) is UpstreamError
    assert str(mapped) == f"the API server broke off the response: {type(failure).__name__}"
