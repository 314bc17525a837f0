"""Request bodies of create and update decoded as the apiserver decodes them.

Content-Type first (JSON when absent or empty, YAML, protobuf; anything else 415),
then the size limit (413), then the document: JSON through Go's parser rules (one
value, nothing after it; `null` is an empty object), the first YAML document, or the
protobuf envelope; then the type: kind and apiVersion defaulted from the URL, the
JSON types checked against the kind's Go types, unknown and duplicate fields reported
as fieldValidation says. Error messages are the apiserver's, down to the body summary.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import yaml
from aiohttp import hdrs, web

from proxy.testing import status
from proxy.testing.kinds import ResourceKind
from proxy.testing.protobuf import decode_object
from proxy.testing.schemas import Findings, TypeMismatch, check, schema_for
from proxy.testing.status import JSONObject

JSON = "application/json"
YAML = "application/yaml"
PROTOBUF = "application/vnd.kubernetes.protobuf"
BODY_MEDIA_TYPES = (JSON, YAML, PROTOBUF)
MAX_REQUEST_BODY_BYTES = 3 * 1024 * 1024  # --max-request-body-bytes default (3 MiB)
_TYPE_META_STRUCT = (
    'struct { APIVersion string "json:\\"apiVersion,omitempty\\""; '
    'Kind string "json:\\"kind,omitempty\\"" }'
)
# Kinds of the core group a body may name (and so decode as) without being the URL's.
REGISTERED_CORE_KINDS = frozenset({
    "Binding", "ComponentStatus", "ConfigMap", "Endpoints", "Event", "LimitRange", "Namespace",
    "Node", "PersistentVolume", "PersistentVolumeClaim", "Pod", "PodTemplate",
    "ReplicationController", "ResourceQuota", "Secret", "Service", "ServiceAccount",
})
STRICT = "Strict"
WARN = "Warn"
IGNORE = "Ignore"


def content_media_type(request: web.Request) -> str:
    """The Content-Type's media type, lower-cased; JSON when missing or empty."""
    media = request.headers.get(hdrs.CONTENT_TYPE, "").split(";")[0].strip().lower()
    return media or JSON


def require_body_media_type(request: web.Request) -> str:
    """NegotiateInputSerializer: 415 for a media type the apiserver cannot decode."""
    media = content_media_type(request)
    if media not in BODY_MEDIA_TYPES:
        raise status.unsupported_media_type(", ".join(BODY_MEDIA_TYPES))
    return media


async def read_limited(request: web.Request) -> bytes:
    """The body, or 413 RequestEntityTooLarge past the apiserver's limit."""
    if (request.content_length or 0) > MAX_REQUEST_BODY_BYTES:
        raise status.request_entity_too_large(MAX_REQUEST_BODY_BYTES)
    body = bytearray()
    while chunk := await request.content.read(64 * 1024):
        body += chunk
        if len(body) > MAX_REQUEST_BODY_BYTES:
            raise status.request_entity_too_large(MAX_REQUEST_BODY_BYTES)
    return bytes(body)


def summarize(data: bytes, limit: int = 30) -> str:
    """apiserver's summarizeData: the start of the body, as text if it opens an object."""
    if not data:
        return "<empty>"
    if data[:1] == b"{":
        text = data[:limit].decode(errors="replace")
        return text + " ..." if len(data) > limit else text
    return data[:limit].hex() + " ..." if len(data) > limit else data.hex()


def go_json_error(error: json.JSONDecodeError, data: str) -> str:
    """encoding/json's wording for a syntax error Python's parser found."""
    position = error.pos
    if position >= len(data.rstrip()) and error.msg.startswith("Expecting"):
        return "unexpected end of JSON input"
    char = _quote_char(data[position] if position < len(data) else "")
    if error.msg == "Extra data":
        return f"invalid character {char} after top-level value"
    if error.msg == "Expecting value":
        return f"invalid character {char} looking for beginning of value"
    return f"invalid character {char} {error.msg.lower()}"


def _quote_char(char: str) -> str:
    """encoding/json's quoteChar: 'x', with Go escapes for what is not printable."""
    if char == "'":
        return "'\\''"
    if char == '"':
        return "'\"'"
    if char.isprintable():
        return f"'{char}'"
    code = ord(char)
    return f"'\\x{code:02x}'" if code < 0x100 else f"'\\u{code:04x}'"


class _DuplicateTracker:
    """object_pairs_hook that notes duplicated keys (Go keeps the last value too)."""

    def __init__(self) -> None:
        self.duplicates: list[str] = []

    def __call__(self, pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, value in pairs:
            if key in result and key not in self.duplicates:
                self.duplicates.append(key)
            result[key] = value
        return result


@dataclass(frozen=True)
class Document:
    """A parsed body and the duplicate keys its JSON held."""

    value: Any
    duplicates: tuple[str, ...] = ()


def parse_json(raw: bytes) -> Document:
    """One JSON value (or APIError 400 with Go's message, unprefixed, as `.message`)."""
    text = raw.decode("utf-8", errors="replace")
    if not text.strip():
        raise ValueError("unexpected end of JSON input")
    tracker = _DuplicateTracker()
    try:
        value = json.loads(text, object_pairs_hook=tracker)
    except json.JSONDecodeError as error:
        raise ValueError(go_json_error(error, text)) from None
    return Document(value, tuple(tracker.duplicates))


def parse_yaml(raw: bytes) -> Document:
    """The first YAML document (later ones are ignored, as the apiserver does)."""
    try:
        documents = yaml.safe_load_all(raw)
        value = next(iter(documents), None)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error)
        raise ValueError(f"yaml: {line}{problem}") from None
    return Document(value)


def _unrecognized(kind: ResourceKind, message: str, raw: bytes) -> status.APIError:
    return status.bad_request(
        f"the object provided is unrecognized (must be of type {kind.kind}): "
        f"{message} ({summarize(raw)})"
    )


def _cannot_handle(kind: ResourceKind, sent_kind: str, message: str) -> status.APIError:
    return status.bad_request(
        f'{sent_kind or kind.kind} in version "{kind.version}" cannot be handled as a '
        f"{kind.kind}: {message}"
    )


def parse_body(raw: bytes, *, media_type: str, kind: ResourceKind) -> Document:
    """The body as a document of `kind`'s shape (an object), or the apiserver's 400."""
    if media_type == PROTOBUF:
        return Document(decode_object(raw))
    try:
        document = parse_yaml(raw) if media_type == YAML else parse_json(raw)
    except ValueError as error:
        prefix = "" if media_type == YAML else "couldn't get version/kind; json parse error: "
        raise _unrecognized(kind, f"{prefix}{error}", raw) from None
    value = document.value
    if value is None:
        return Document({}, document.duplicates)
    if not isinstance(value, dict):
        json_type = "array" if isinstance(value, list) else (
            "string" if isinstance(value, str) else "number")
        raise _unrecognized(
            kind,
            "couldn't get version/kind; json parse error: json: cannot unmarshal "
            f"{json_type} into Go value of type {_TYPE_META_STRUCT}",
            raw,
        )
    return document


@dataclass(frozen=True)
class Decoded:
    obj: JSONObject
    strict_errors: tuple[str, ...]  # "unknown field \"x\"", "duplicate field \"y\""


def check_type(document: Document, kind: ResourceKind) -> Decoded:
    """Kind and apiVersion against the URL's, JSON types against the Go types."""
    obj: JSONObject = document.value
    sent_kind, sent_version = obj.get("kind"), obj.get("apiVersion")
    if sent_version and sent_version != kind.api_version:
        raise _cannot_handle(
            kind, str(sent_kind or kind.kind),
            f'no kind "{sent_kind or kind.kind}" is registered for version "{sent_version}" '
            'in scheme "pkg/api/legacyscheme/scheme.go:30"',
        )
    if sent_kind and sent_kind != kind.kind:
        if sent_kind in REGISTERED_CORE_KINDS:  # decodes, then cannot convert
            reason = (f"converting (v1.{sent_kind}) to (core.{kind.kind}): unknown conversion")
        else:
            reason = (f'no kind "{sent_kind}" is registered for version "{kind.api_version}" in '
                      'scheme "pkg/api/legacyscheme/scheme.go:30"')
        raise _cannot_handle(kind, str(sent_kind), reason)
    findings = Findings()
    try:
        check(schema_for(kind), obj, path="", struct=kind.kind, findings=findings)
    except TypeMismatch as error:
        raise _cannot_handle(kind, kind.kind, str(error)) from None
    errors = [f'unknown field "{path}"' for path in findings.unknown]
    errors += [f'duplicate field "{key}"' for key in document.duplicates]
    return Decoded(obj, tuple(errors))


def apply_field_validation(
    decoded: Decoded, kind: ResourceKind, *, directive: str, warnings: list[str]
) -> JSONObject:
    """Strict: 400 for any strict decoding error; Warn (the default): warnings; Ignore."""
    if decoded.strict_errors and directive == STRICT:
        raise _cannot_handle(
            kind, kind.kind, "strict decoding error: " + ", ".join(decoded.strict_errors)
        )
    if directive != IGNORE:
        warnings.extend(decoded.strict_errors)
    return decoded.obj
