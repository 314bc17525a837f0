"""Kubernetes `Status` responses: how the proxy speaks when it answers itself."""

from __future__ import annotations

import json
from http import HTTPStatus

from aiohttp import web

# The reason the kube-apiserver gives for each code it uses (metav1.StatusReason).
_REASONS: dict[int, str] = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    410: "Gone",
    413: "RequestEntityTooLarge",
    415: "UnsupportedMediaType",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    502: "BadGateway",
    503: "ServiceUnavailable",
    504: "Timeout",
}


def status_body(code: int, message: str, *, reason: str | None = None) -> dict[str, object]:
    """The `Status` object for a failure, as the API server would write it."""
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason or _REASONS.get(code, HTTPStatus(code).phrase.replace(" ", "")),
        "code": code,
    }


def status_response(code: int, message: str, *, reason: str | None = None) -> web.Response:
    """A complete JSON response carrying a failure `Status`."""
    return web.Response(
        status=code,
        body=json.dumps(status_body(code, message, reason=reason)).encode(),
        content_type="application/json",
    )
