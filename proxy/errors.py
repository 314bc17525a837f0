"""The proxy's exception tree.

    ProxyError                      anything the proxy itself reports
    ├── ConfigError                 bad flags or settings; refused at start-up
    │   └── KubeconfigError         a kubeconfig problem, naming the file and the field
    │       └── NoKubeconfigError   none found (in a pod: use the service account)
    ├── BadRequestError             a request target not readable as the API server reads it (400)
    ├── RequestTooLargeError        a request body over the limit (413)
    ├── TooManyRequestsError        a client over a rate limit, with when to retry (429)
    ├── CredentialError             a credential could not be obtained (502)
    └── UpstreamError               the API server could not be reached
        ├── UpstreamTLSError        the TLS handshake failed (502)
        ├── UpstreamUnreachableError  refused, reset, no route, DNS (503)
        └── UpstreamTimeoutError    no connection within the connect timeout (504)

Each request-time leaf knows the HTTP code and the Kubernetes `Status` reason it
answers with, so one middleware turns any of them into a `Status` response.
Messages never carry credentials: they are shown to clients and logged.
"""

from __future__ import annotations

from http import HTTPStatus


class ProxyError(Exception):
    """Base of every error the proxy raises on purpose."""

    code: int = HTTPStatus.INTERNAL_SERVER_ERROR
    reason: str = "InternalError"


class ConfigError(ProxyError):
    """A setting the proxy cannot start with."""


class KubeconfigError(ConfigError):
    """A kubeconfig problem, located by file and field (`users[name=alice].user.token`)."""

    def __init__(self, message: str, *, file: str | None = None, field: str | None = None):
        self.file = file
        self.field = field
        self.detail = message
        where = ": ".join(part for part in (file, field) if part)
        super().__init__(f"{where}: {message}" if where else message)


class NoKubeconfigError(KubeconfigError):
    """No kubeconfig anywhere: in a pod, the service account may serve instead."""


class BadRequestError(ProxyError):
    """A request target that cannot be read as the API server reads it (proxy/canonical.py)."""

    code = HTTPStatus.BAD_REQUEST
    reason = "BadRequest"


class RequestTooLargeError(ProxyError):
    """The client's body is larger than --max-body-bytes."""

    code = HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    reason = "RequestEntityTooLarge"


class TooManyRequestsError(ProxyError):
    """A client went over a rate limit; `retry_after` says when it may try again (seconds)."""

    code = HTTPStatus.TOO_MANY_REQUESTS
    reason = "TooManyRequests"

    def __init__(self, message: str, *, retry_after: float):
        super().__init__(message)
        self.retry_after = retry_after


class CredentialError(ProxyError):
    """The user's credential could not be obtained or refreshed."""

    code = HTTPStatus.BAD_GATEWAY
    reason = "BadGateway"


class UpstreamError(ProxyError):
    """The request could not reach the API server."""

    code = HTTPStatus.BAD_GATEWAY
    reason = "BadGateway"


class UpstreamTLSError(UpstreamError):
    """The API server's certificate was refused, or the handshake failed."""


class UpstreamUnreachableError(UpstreamError):
    code = HTTPStatus.SERVICE_UNAVAILABLE
    reason = "ServiceUnavailable"


class UpstreamTimeoutError(UpstreamError):
    code = HTTPStatus.GATEWAY_TIMEOUT
    reason = "Timeout"
