"""Kubernetes `Status` errors with the apiserver's reasons, codes and messages."""

from __future__ import annotations

from typing import Any

JSONObject = dict[str, Any]


class APIError(Exception):
    """An error the apiserver reports as a `Status` body with this HTTP code."""

    def __init__(
        self, code: int, *, reason: str, message: str, details: JSONObject | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details

    def to_status(self) -> JSONObject:
        status: JSONObject = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
        }
        if self.details is not None:
            status["details"] = self.details
        status["code"] = self.code
        return status


def _details(*, name: str, kind: str, group: str = "") -> JSONObject:
    details: JSONObject = {"name": name}
    if group:
        details["group"] = group
    details["kind"] = kind
    return details


def unauthorized() -> APIError:
    return APIError(401, reason="Unauthorized", message="Unauthorized")


def not_found(resource: str, name: str, *, group: str = "") -> APIError:
    qualified = f"{resource}.{group}" if group else resource
    return APIError(
        404,
        reason="NotFound",
        message=f'{qualified} "{name}" not found',
        details=_details(name=name, kind=resource, group=group),
    )


def resource_not_found() -> APIError:
    return APIError(
        404,
        reason="NotFound",
        message="the server could not find the requested resource",
        details={},
    )


def already_exists(resource: str, name: str) -> APIError:
    return APIError(
        409,
        reason="AlreadyExists",
        message=f'{resource} "{name}" already exists',
        details=_details(name=name, kind=resource),
    )


def conflict(resource: str, name: str) -> APIError:
    return APIError(
        409,
        reason="Conflict",
        message=(
            f'Operation cannot be fulfilled on {resource} "{name}": the object has been '
            "modified; please apply your changes to the latest version and try again"
        ),
        details=_details(name=name, kind=resource),
    )


def bad_request(message: str) -> APIError:
    return APIError(400, reason="BadRequest", message=message)


def invalid(kind: str, name: str, message: str) -> APIError:
    return APIError(
        422,
        reason="Invalid",
        message=f'{kind} "{name}" is invalid: {message}',
        details=_details(name=name, kind=kind),
    )


def method_not_allowed() -> APIError:
    return APIError(
        405,
        reason="MethodNotAllowed",
        message="the server does not allow this method on the requested resource",
        details={},
    )


def not_acceptable(supported: str) -> APIError:
    return APIError(
        406,
        reason="NotAcceptable",
        message=f"only the following media types are accepted: {supported}",
    )


def unsupported_media_type(content_type: str) -> APIError:
    return APIError(
        415,
        reason="UnsupportedMediaType",
        message=(
            "the body of the request was in an unknown format - "
            f"accepted media types include: {content_type}"
        ),
    )


def expired(message: str) -> APIError:
    return APIError(410, reason="Expired", message=message)


def success(*, name: str, kind: str, uid: str) -> JSONObject:
    """The Status a delete returns for kinds that do not return the deleted object."""
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": {"name": name, "kind": kind, "uid": uid},
    }


def invalid_patch(message: str) -> APIError:
    return APIError(
        422,
        reason="Invalid",
        message=f"the server rejected our request due to an error in our request: {message}",
    )
