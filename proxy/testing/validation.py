"""Object validation as the apiserver's strategies do it: one 422 Invalid with every cause.

ObjectMeta (name or generateName, name format per kind, labels, annotations size),
ConfigMap and Secret keys and their 1 MiB limit, and the `immutable` rule on update.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from proxy.testing import status
from proxy.testing.kinds import CONFIGMAPS, NAMESPACES, SECRETS, SERVICES, ResourceKind
from proxy.testing.status import FieldError, JSONObject

MAX_DATA_BYTES = 1024 * 1024  # corevalidation.MaxSecretSize, for ConfigMaps and Secrets
MAX_ANNOTATIONS_BYTES = 256 * 1024
_DNS1123_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_SUBDOMAIN = re.compile(rf"{_DNS1123_LABEL}(\.{_DNS1123_LABEL})*")
_DNS1035_LABEL = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
_CONFIG_KEY = re.compile(r"[-._a-zA-Z0-9]+")
_LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")
_QUALIFIED_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")

SUBDOMAIN_MESSAGE = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' "
    "or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex "
    "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
LABEL_MESSAGE = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
    "and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', "
    "regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
DNS1035_MESSAGE = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
    "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or "
    "'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
)
CONFIG_KEY_MESSAGE = (
    "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. "
    "'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"
)
LABEL_VALUE_MESSAGE = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "
    "'my_value',  or '12345', regex used for validation is "
    "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)
QUALIFIED_NAME_MESSAGE = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and "
    "end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex "
    "used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)


def _invalid(field: str, value: Any, message: str) -> FieldError:
    return FieldError(field, f'Invalid value: "{value}": {message}')


def _name_errors(kind: ResourceKind, name: str, field: str) -> list[FieldError]:
    if kind in (NAMESPACES,):
        if len(name) > 63:
            return [_invalid(field, name, "must be no more than 63 characters")]
        return [] if re.fullmatch(_DNS1123_LABEL, name) else [_invalid(field, name, LABEL_MESSAGE)]
    if kind is SERVICES:
        if len(name) > 63:
            return [_invalid(field, name, "must be no more than 63 characters")]
        return [] if _DNS1035_LABEL.fullmatch(name) else [_invalid(field, name, DNS1035_MESSAGE)]
    if len(name) > 253:
        return [_invalid(field, name, "must be no more than 253 characters")]
    return [] if _DNS1123_SUBDOMAIN.fullmatch(name) else [_invalid(field, name, SUBDOMAIN_MESSAGE)]


def _label_key_errors(key: str, field: str) -> list[FieldError]:
    prefix, _, name = key.rpartition("/")
    errors = []
    if prefix and not (_DNS1123_SUBDOMAIN.fullmatch(prefix) and len(prefix) <= 253):
        errors.append(_invalid(field, key, "prefix part " + SUBDOMAIN_MESSAGE))
    if not name or len(name) > 63 or not _QUALIFIED_NAME.fullmatch(name):
        errors.append(_invalid(field, key, QUALIFIED_NAME_MESSAGE))
    return errors


def _meta_errors(kind: ResourceKind, metadata: JSONObject) -> list[FieldError]:
    errors: list[FieldError] = []
    name = metadata.get("name") or ""
    if not name and not metadata.get("generateName"):
        errors.append(FieldError(
            "metadata.name", "Required value: name or generateName is required",
            reason="FieldValueRequired",
        ))
    elif name:
        errors += _name_errors(kind, name, "metadata.name")
    for key, value in (metadata.get("labels") or {}).items():
        errors += _label_key_errors(key, "metadata.labels")
        if len(value) > 63 or not _LABEL_VALUE.fullmatch(value):
            errors.append(_invalid("metadata.labels", value, LABEL_VALUE_MESSAGE))
    annotations = metadata.get("annotations") or {}
    for key in annotations:
        errors += _label_key_errors(key, "metadata.annotations")
    if sum(len(k) + len(v) for k, v in annotations.items()) > MAX_ANNOTATIONS_BYTES:
        errors.append(FieldError(
            "metadata.annotations",
            f"Too long: may not be more than {MAX_ANNOTATIONS_BYTES} bytes",
            reason="FieldValueTooLong",
        ))
    return errors


def _decoded_size(value: str, *, base64_encoded: bool) -> int:
    if not base64_encoded:
        return len(value.encode())
    try:
        return len(base64.b64decode(value))
    except (binascii.Error, ValueError):
        return len(value)


def _data_errors(obj: JSONObject, fields: tuple[tuple[str, bool], ...]) -> list[FieldError]:
    """Keys of data maps must be config keys; all values together at most 1 MiB."""
    errors: list[FieldError] = []
    total = 0
    seen: set[str] = set()
    for field, encoded in fields:
        for key, value in (obj.get(field) or {}).items():
            if not _CONFIG_KEY.fullmatch(key):
                errors.append(_invalid(f"{field}[{key}]", key, CONFIG_KEY_MESSAGE))
            if key in seen and field == "binaryData":
                errors.append(_invalid(f"{field}[{key}]", key, f"duplicate of key {key!r}"))
            seen.add(key)
            total += _decoded_size(value or "", base64_encoded=encoded)
    if total > MAX_DATA_BYTES:
        errors.append(FieldError(
            "", f"Too long: may not be more than {MAX_DATA_BYTES} bytes",
            reason="FieldValueTooLong",
        ))
    return errors


def validate(kind: ResourceKind, obj: JSONObject) -> None:
    """Validate for create (and update): 422 listing every problem."""
    errors = _meta_errors(kind, obj.get("metadata") or {})
    if kind is CONFIGMAPS:
        errors += _data_errors(obj, (("data", False), ("binaryData", True)))
    elif kind is SECRETS:
        errors += _data_errors(obj, (("data", True), ("stringData", False)))
    if errors:
        raise status.invalid_fields(kind.kind, (obj.get("metadata") or {}).get("name", ""), errors)


def validate_update(kind: ResourceKind, new: JSONObject, old: JSONObject) -> None:
    """Update rules on top of `validate`: an immutable ConfigMap or Secret keeps its data."""
    errors: list[FieldError] = []
    if kind in (CONFIGMAPS, SECRETS) and old.get("immutable"):
        forbidden = "Forbidden: field is immutable when `immutable` is set"
        if not new.get("immutable"):
            errors.append(FieldError("immutable", forbidden, reason="FieldValueForbidden"))
        data_fields = ("data", "binaryData") if kind is CONFIGMAPS else ("data",)
        for field in data_fields:
            if (new.get(field) or {}) != (old.get(field) or {}):
                errors.append(FieldError(field, forbidden, reason="FieldValueForbidden"))
    if errors:
        raise status.invalid_fields(kind.kind, new["metadata"].get("name", ""), errors)
    validate(kind, new)
