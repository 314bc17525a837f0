"""Transport failures as the proxy's `UpstreamError`s: the one translation, for every transport.

Two phases, two answers. Until the answer's head has arrived, a failure says
why the API server could not be reached (TLS 502, unreachable 503, timeout
504); after that, a lost connection is the API server breaking off (502). The
messages name the endpoint and the kind of failure, never a header.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterator
from contextlib import contextmanager

from proxy.errors import (
    ProxyError,
    UpstreamError,
    UpstreamTimeoutError,
    UpstreamTLSError,
    UpstreamUnreachableError,
)


class ConnectionLost(Exception):
    """A transport's own connection ended, or carried what is not HTTP, before the answer did.

    The message says how, in a few words, never with a header.
    """


# What a connection lost after connecting looks like, from asyncio streams and the
# transports' own connections.
BREAKS = (
    ConnectionLost,
    ConnectionError,
    asyncio.IncompleteReadError,
    asyncio.LimitOverrunError,
)


@contextmanager
def reaching(where: str, *, connect_timeout: float) -> Iterator[None]:
    """Around connecting, sending and reading the head: failures as the `Status` they answer.

    `where` is `host:port`. A `ProxyError` raised while the request body was
    pulled (it grew past the limit) comes out as it is.
    """
    try:
        yield
    except ProxyError:
        raise
    except ConnectionLost as exc:
        raise UpstreamError(f"the API server {where} failed the request: {exc}") from None
    except ssl.SSLCertVerificationError as exc:
        raise UpstreamTLSError(_tls_failed(where, _verify_reason(exc))) from None
    except ssl.SSLError as exc:
        raise UpstreamTLSError(_tls_failed(where, _os_error_text(exc))) from None
    except TimeoutError:
        raise UpstreamTimeoutError(
            f"no connection to the API server {where} within {connect_timeout:g}s"
        ) from None
    except OSError as exc:
        raise UpstreamUnreachableError(
            f"cannot reach the API server {where}: {_os_error_text(exc)}"
        ) from None


def broken_off(what: str, exc: BaseException) -> UpstreamError:
    """One of `BREAKS` after the head: raise it `from None` (`what`: "the response", ...)."""
    return UpstreamError(f"the API server broke off {what}: {type(exc).__name__}")


def _tls_failed(where: str, reason: str) -> str:
    return f"TLS handshake with the API server {where} failed: {reason}"


def _verify_reason(error: BaseException) -> str:
    message = getattr(error, "verify_message", None)
    return f"certificate verify failed: {message}" if message else str(error)


def _os_error_text(error: OSError) -> str:
    return (error.strerror or str(error) or type(error).__name__).lower()
