"""Responses encoded the way the apiserver encodes them: JSON (compact, or indented for
?pretty and for curl, Wget and browsers), YAML, protobuf; gzip above 128 KiB."""

from __future__ import annotations

import gzip
import json
from typing import Any

import yaml
from aiohttp import hdrs, web

from proxy.testing import protobuf_encoding as pb
from proxy.testing.negotiation import JSON, PROTOBUF, YAML, output_media_type
from proxy.testing.status import APIError

# responsewriters.defaultGzipThresholdBytes: larger bodies are gzipped when the client allows.
GZIP_THRESHOLD_BYTES = 128 * 1024
# isPrettyPrint: user agents that get indented JSON without asking.
PRETTY_USER_AGENTS = ("curl", "Wget", "Mozilla/5.0")
_GO_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})


def encode_json(obj: Any, *, pretty: bool = False) -> bytes:
    """Go's json.Encoder output: compact (or two-space indented), with a trailing newline."""
    if pretty:
        return json.dumps(obj, indent=2, ensure_ascii=False).encode() + b"\n"
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"


def encode_yaml(obj: Any) -> bytes:
    """sigs.k8s.io/yaml: the JSON document as block YAML, keys sorted."""
    return yaml.safe_dump(obj, sort_keys=True, default_flow_style=False,
                          allow_unicode=True).encode()


def pretty_print(request: web.Request) -> bool:
    """?pretty (strconv.ParseBool) decides when given; else curl, Wget and browsers get it."""
    pretty = request.query.get("pretty", "")
    if pretty:
        return pretty in _GO_TRUE
    user_agent = request.headers.get(hdrs.USER_AGENT, "")
    return user_agent.startswith(PRETTY_USER_AGENTS)


def accepts_gzip(request: web.Request) -> bool:
    """negotiateContentEncoding: a token that is exactly `gzip` (no q, no other case)."""
    encodings = request.headers.get(hdrs.ACCEPT_ENCODING, "")
    return any(token.strip() == "gzip" for token in encodings.split(","))


def _respond(request: web.Request, body: bytes, *, status: int, content_type: str) -> web.Response:
    response = web.Response(body=body, status=status, content_type=content_type)
    if len(body) > GZIP_THRESHOLD_BYTES and accepts_gzip(request):
        response.body = gzip.compress(body, compresslevel=1)
        response.headers[hdrs.CONTENT_ENCODING] = "gzip"
        response.headers.add(hdrs.VARY, "Accept-Encoding")
    return response


def json_response(request: web.Request, obj: Any, *, status: int = 200) -> web.Response:
    return _respond(request, encode_json(obj, pretty=pretty_print(request)), status=status,
                    content_type=JSON)


def object_response(
    request: web.Request, obj: Any, *, media_type: str = JSON, status: int = 200
) -> web.Response:
    """An object (kind and apiVersion set) in the negotiated media type."""
    if media_type == YAML:
        return _respond(request, encode_yaml(obj), status=status, content_type=YAML)
    if media_type == PROTOBUF:
        return _respond(request, encode_protobuf(obj), status=status, content_type=PROTOBUF)
    return json_response(request, obj, status=status)


def encode_protobuf(obj: Any) -> bytes:
    kind, api_version = str(obj.get("kind", "")), str(obj.get("apiVersion", ""))
    items = obj.get("items")
    if kind.endswith("List") and isinstance(items, list):
        return pb.encode_list(items, metadata=obj.get("metadata") or {},
                              api_version=api_version, item_kind=kind[: -len("List")])
    return pb.encode_object(obj, api_version=api_version, kind=kind)


def error_response(error: APIError, request: web.Request | None = None) -> web.Response:
    """The Status, in the media type the request negotiates (JSON when it cannot)."""
    status = error.to_status()
    if request is None:
        return web.Response(body=encode_json(status), status=error.code, content_type=JSON)
    media_type = output_media_type(request.headers.get(hdrs.ACCEPT, ""))
    return object_response(request, status, media_type=media_type, status=error.code)
