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
        }
        if self.reason:  # Go's omitempty: an unknown (500) error has no reason at all
            status["reason"] = self.reason
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
    """One field error given as its text, "field: Detail"."""
    field, _, detail = message.partition(": ")
    reason = _CAUSE_REASONS.get(detail.split(":")[0], "FieldValueInvalid")
    return invalid_fields(kind, name, [FieldError(field, detail, reason=reason)])


_CAUSE_REASONS = {
    "Required value": "FieldValueRequired",
    "Forbidden": "FieldValueForbidden",
    "Unsupported value": "FieldValueNotSupported",
    "Invalid value": "FieldValueInvalid",
    "Too long": "FieldValueTooLong",
    "Duplicate value": "FieldValueDuplicate",
}


class FieldError:
    """One cause of a 422: a field path, its detail ("Invalid value: ...") and the reason."""

    def __init__(self, field: str, detail: str, *, reason: str = "FieldValueInvalid") -> None:
        self.field = field
        self.detail = detail
        self.reason = reason

    def __str__(self) -> str:
        return f"{self.field}: {self.detail}"

    def cause(self) -> JSONObject:
        return {"reason": self.reason, "message": self.detail, "field": self.field}


def invalid_fields(
    kind: str, name: str, errors: list[FieldError], *, group: str = ""
) -> APIError:
    """errors.NewInvalid: `Kind "name" is invalid: ...` with one cause per field error."""
    qualified = f"{kind}.{group}" if group else kind
    texts = [str(error) for error in errors]
    summary = texts[0] if len(texts) == 1 else "[" + ", ".join(texts) + "]"
    details: JSONObject = {}
    if name:
        details["name"] = name
    if group:
        details["group"] = group
    details["kind"] = kind
    details["causes"] = [error.cause() for error in errors]
    return APIError(
        422, reason="Invalid", message=f'{qualified} "{name}" is invalid: {summary}',
        details=details,
    )


def invalid_options(kind: str, errors: list[FieldError]) -> APIError:
    """A 422 for request options (CreateOptions, PatchOptions, DeleteOptions...)."""
    return invalid_fields(kind, "", errors, group="meta.k8s.io")


def internal(message: str) -> APIError:
    """A plain Go error that reached the response writer: 500 with no reason."""
    return APIError(500, reason="", message=message)


def request_entity_too_large(limit: int) -> APIError:
    return APIError(
        413, reason="RequestEntityTooLarge",
        message=f"Request entity too large: limit is {limit}",
    )


def conflict_message(message: str, *, name: str, kind: str) -> APIError:
    """A 409 Conflict whose message says why (a precondition, an apply conflict)."""
    return APIError(
        409, reason="Conflict", message=message, details=_details(name=name, kind=kind)
    )


def too_large_resource_version(wanted: int, current: int) -> APIError:
    """The cache's answer after waiting in vain for a future resourceVersion."""
    return APIError(
        504,
        reason="Timeout",
        message=f"Timeout: Too large resource version: {wanted}, current: {current}",
        details={
            "causes": [{
                "reason": "ResourceVersionTooLarge",
                "message": f"Too large resource version: {wanted}, current: {current}",
            }],
            "retryAfterSeconds": 1,
        },
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
    """errors.NewGenericServerResponse(422): the generic message, the detail in a cause."""
    return APIError(
        422,
        reason="Invalid",
        message="the server rejected our request due to an error in our request",
        details={"causes": [{"message": message}]},
    )


def unsupported_patch_type() -> APIError:
    """go-restful's answer when no route consumes the Content-Type (PATCH)."""
    return APIError(415, reason="UnsupportedMediaType", message="415: Unsupported Media Type")
