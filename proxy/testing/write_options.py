"""Create, Update, Patch and Delete options, decoded from the query (and a DELETE body) and
validated as the apiserver does: 400 for what does not parse, one 422 `XOptions.meta.k8s.io
"" is invalid` for what is not allowed, 500 for a DELETE body it cannot decode."""

from __future__ import annotations

import json
from dataclasses import dataclass

from aiohttp import web

from proxy.testing import status
from proxy.testing.decoding import (
    IGNORE,
    STRICT,
    WARN,
    go_json_error,
    read_limited,
    require_body_media_type,
)
from proxy.testing.list_options import go_int
from proxy.testing.request_info import go_bool
from proxy.testing.status import FieldError

APPLY_PATCH = "application/apply-patch+yaml"
FIELD_VALIDATIONS = ("", IGNORE, STRICT, WARN)
PROPAGATION_POLICIES = ("Foreground", "Background", "Orphan")
MAX_FIELD_MANAGER_LENGTH = 128


@dataclass(frozen=True)
class WriteOptions:
    dry_run: bool = False
    field_manager: str = ""
    field_validation: str = ""
    force: bool = False

    @property
    def validation_directive(self) -> str:
        """What decoding does with unknown and duplicate fields (Warn unless told)."""
        return self.field_validation or WARN


def _quoted(values: tuple[str, ...]) -> str:
    return ", ".join(f'"{value}"' for value in values)


def _go_string_slice(values: list[str]) -> str:
    return "[]string{" + ", ".join(json.dumps(value) for value in values) + "}"


def _dry_run_errors(values: list[str]) -> list[FieldError]:
    if all(value == "All" for value in values):
        return []
    return [FieldError(
        "dryRun", f'Unsupported value: {_go_string_slice(values)}: supported values: "All"',
        reason="FieldValueNotSupported",
    )]


def write_options(request: web.Request, *, options_kind: str, patch_type: str = "") -> WriteOptions:
    """The options of a create, update or patch (options_kind names them in the 422)."""
    query = request.query
    dry_run = query.getall("dryRun", [])
    manager = query.get("fieldManager", "")
    validation = query.get("fieldValidation", "")
    force_values = query.getall("force", [])
    errors = _dry_run_errors(dry_run)
    if len(manager) > MAX_FIELD_MANAGER_LENGTH:
        errors.append(FieldError(
            "fieldManager", f"Too long: may not be more than {MAX_FIELD_MANAGER_LENGTH} bytes",
            reason="FieldValueTooLong",
        ))
    if validation not in FIELD_VALIDATIONS:
        errors.append(FieldError(
            "fieldValidation",
            f'Unsupported value: "{validation}": supported values: {_quoted(FIELD_VALIDATIONS)}',
            reason="FieldValueNotSupported",
        ))
    if options_kind == "PatchOptions":
        if patch_type != APPLY_PATCH and force_values:
            errors.append(FieldError(
                "force", "Forbidden: may not be specified for non-apply patch",
                reason="FieldValueForbidden",
            ))
        if patch_type == APPLY_PATCH and not manager:
            errors.append(FieldError(
                "fieldManager", "Required value: is required for apply patch",
                reason="FieldValueRequired",
            ))
    if errors:
        raise status.invalid_options(options_kind, errors)
    return WriteOptions(
        dry_run=bool(dry_run),
        field_manager=manager,
        field_validation=validation,
        force=go_bool(force_values),
    )


@dataclass(frozen=True)
class DeleteOptions:
    dry_run: bool = False
    grace_period_seconds: int | None = None
    propagation_policy: str | None = None
    orphan_dependents: bool | None = None
    precondition_uid: str | None = None
    precondition_resource_version: str | None = None


def _from_body(raw: bytes) -> tuple[DeleteOptions, list[str]]:
    """A DeleteOptions body; what cannot be decoded is a plain error, so a 500."""
    text = raw.decode("utf-8", errors="replace")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise status.internal(
            f"couldn't get version/kind; json parse error: {go_json_error(error, text)}"
        ) from None
    if not isinstance(document, dict):
        raise status.internal("couldn't get version/kind; json parse error: expected an object")
    kind = document.get("kind") or "DeleteOptions"
    version = document.get("apiVersion") or "v1"
    if kind != "DeleteOptions":
        raise status.internal(
            f'no kind "{kind}" is registered for version "{version}" in scheme '
            '"pkg/apis/meta/internalversion/scheme/register.go:27"'
        )
    preconditions = document.get("preconditions") or {}
    dry_run = document.get("dryRun") or []
    grace = document.get("gracePeriodSeconds")
    return DeleteOptions(
        dry_run=bool(dry_run),
        grace_period_seconds=grace if isinstance(grace, int) else None,
        propagation_policy=document.get("propagationPolicy"),
        orphan_dependents=document.get("orphanDependents"),
        precondition_uid=preconditions.get("uid"),
        precondition_resource_version=preconditions.get("resourceVersion"),
    ), list(dry_run)


def _from_query(request: web.Request) -> tuple[DeleteOptions, list[str]]:
    query = request.query
    grace = query.getall("gracePeriodSeconds", [])
    orphan = query.getall("orphanDependents", [])
    dry_run = query.getall("dryRun", [])
    return DeleteOptions(
        dry_run=bool(dry_run),
        grace_period_seconds=go_int("gracePeriodSeconds", grace[0]) if grace else None,
        propagation_policy=query.get("propagationPolicy"),
        orphan_dependents=go_bool(orphan) if orphan else None,
    ), dry_run


async def delete_options(request: web.Request) -> DeleteOptions:
    """The body when there is one (the query is then ignored), else the query; validated."""
    raw = await read_limited(request)
    if raw:
        require_body_media_type(request)
        options, dry_run = _from_body(raw)
    else:
        options, dry_run = _from_query(request)
    errors = _dry_run_errors(dry_run)
    if options.orphan_dependents is not None and options.propagation_policy is not None:
        errors.append(FieldError(
            "propagationPolicy",
            f'Invalid value: "{options.propagation_policy}": orphanDependents and '
            "deletionPropagation cannot be both set",
        ))
    policy = options.propagation_policy
    if policy is not None and policy not in PROPAGATION_POLICIES:
        supported = _quoted((*PROPAGATION_POLICIES, "nil"))
        errors.append(FieldError(
            "propagationPolicy", f'Unsupported value: "{policy}": supported values: {supported}',
            reason="FieldValueNotSupported",
        ))
    if errors:
        raise status.invalid_options("DeleteOptions", errors)
    return options
