"""/openapi/v2 and /openapi/v3: documents built once, cached as bytes, served like kube-openapi
(ETag and If-None-Match, hash-addressed v3 documents that are immutable, 406 for protobuf)."""

from __future__ import annotations

import copy
import functools
import gzip
import hashlib
import json
import time
from email.utils import formatdate
from typing import Any

from aiohttp import hdrs, web

from proxy.testing import protobuf_encoding as pb
from proxy.testing import status
from proxy.testing.discovery import GIT_VERSION
from proxy.testing.kinds import KINDS, ResourceKind
from proxy.testing.openapi_definitions import kind_definitions, meta_definitions
from proxy.testing.openapi_filler import filler_definitions
from proxy.testing.openapi_paths import resource_paths
from proxy.testing.responses import accepts_gzip, error_response

_INFO = {"title": "Kubernetes", "version": GIT_VERSION}
_BEARER = {
    "BearerToken": {
        "description": "Bearer Token authentication",
        "type": "apiKey",
        "name": "authorization",
        "in": "header",
    }
}


def _paths(kinds: list[ResourceKind]) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for kind in kinds:
        paths.update(resource_paths(kind))
    return dict(sorted(paths.items()))


def _group_versions() -> dict[str, list[ResourceKind]]:
    """"api/v1", "apis/apps/v1", ...: the kinds each OpenAPI v3 document describes."""
    groups: dict[str, list[ResourceKind]] = {}
    for kind in KINDS.values():
        key = f"apis/{kind.group}/{kind.version}" if kind.group else f"api/{kind.version}"
        groups.setdefault(key, []).append(kind)
    return groups


@functools.cache
def openapi_v2() -> bytes:
    """The Swagger 2.0 document: real paths and kinds, plus a few MB of filler definitions."""
    definitions = {**meta_definitions(), **kind_definitions(), **filler_definitions()}
    document = {
        "swagger": "2.0",
        "info": _INFO,
        "paths": _paths(list(KINDS.values())),
        "definitions": dict(sorted(definitions.items())),
        "securityDefinitions": _BEARER,
        "security": [{"BearerToken": []}],
    }
    return json.dumps(document, separators=(",", ":")).encode()


def _v3_refs(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            key: value.replace("#/definitions/", "#/components/schemas/")
            if key == "$ref"
            else _v3_refs(value)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_v3_refs(item) for item in node]
    return node


def _v3_parameter(parameter: dict[str, Any]) -> dict[str, Any]:
    converted = {k: v for k, v in parameter.items() if k not in ("type", "uniqueItems")}
    converted["schema"] = {"type": parameter.get("type", "string"), "uniqueItems": True}
    return converted


def _v3_operation(operation: dict[str, Any]) -> dict[str, Any]:
    converted = {k: v for k, v in operation.items() if k not in ("consumes", "produces", "schemes")}
    parameters = []
    for parameter in operation.get("parameters", []):
        if parameter["in"] == "body":
            converted["requestBody"] = {
                "content": {ct: {"schema": parameter["schema"]} for ct in operation["consumes"]},
                "required": True,
            }
        else:
            parameters.append(_v3_parameter(parameter))
    converted["parameters"] = parameters
    converted["responses"] = {
        code: {
            "description": response["description"],
            **(
                {"content": {mt: {"schema": response["schema"]} for mt in operation["produces"]}}
                if "schema" in response
                else {}
            ),
        }
        for code, response in operation["responses"].items()
    }
    return converted


def _v3_path(item: dict[str, Any]) -> dict[str, Any]:
    return {
        key: [_v3_parameter(p) for p in value] if key == "parameters" else _v3_operation(value)
        for key, value in item.items()
    }


@functools.cache
def openapi_v3_documents() -> dict[str, bytes]:
    """Per group-version OpenAPI 3.0 documents, keyed as in the /openapi/v3 index."""
    schemas = {**meta_definitions(), **kind_definitions()}
    documents: dict[str, bytes] = {}
    for key, kinds in _group_versions().items():
        document = {
            "openapi": "3.0.0",
            "info": _INFO,
            "paths": {path: _v3_path(item) for path, item in _paths(kinds).items()},
            "components": {
                "schemas": dict(sorted(copy.deepcopy(schemas).items())),
                "securitySchemes": _BEARER,
            },
            "security": [{"BearerToken": []}],
        }
        documents[key] = json.dumps(_v3_refs(document), separators=(",", ":")).encode()
    return documents


def _hash(document: bytes) -> str:
    return hashlib.sha512(document).hexdigest().upper()


_STARTED = formatdate(time.time(), usegmt=True)
V2_PROTOBUF = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
V3_PROTOBUF = "application/com.github.proto-openapi.spec.v3@v1.0+protobuf"
_YEAR_S = 365 * 24 * 3600


def _wanted_type(request: web.Request, protobuf: str) -> str | None:
    """application/json, the protobuf type (sent with '.' for '@'), or None: 406."""
    accept = request.headers.get(hdrs.ACCEPT, "")
    if not accept.strip():
        return "application/json"
    for entry in accept.split(","):
        media_type = entry.split(";")[0].strip().lower()
        if media_type in ("application/json", "application/*", "*/*"):
            return "application/json"
        if media_type == protobuf:
            return protobuf.replace("@", ".")
    return None


def _protobuf_document(document: bytes) -> bytes:
    """A gnostic OpenAPI Document with its version and info: what the fake can say in
    protobuf without a full schema of the schema."""
    parsed = json.loads(document)
    version = parsed.get("openapi") or parsed.get("swagger") or ""
    info = pb.string(1, _INFO["title"]) + pb.string(2, _INFO["version"])
    return pb.string(1, version) + pb.length_delimited(2, info)


def _serve(
    request: web.Request,
    document: bytes,
    *,
    cache_control: str,
    protobuf: str,
    vary: str = "Accept",
    immutable: bool = False,
) -> web.Response:
    content_type = _wanted_type(request, protobuf)
    if content_type is None:
        return error_response(status.not_acceptable("application/json, " + protobuf))
    body = document if content_type == "application/json" else _protobuf_document(document)
    etag = f'"{_hash(body)}"'
    headers = {hdrs.ETAG: etag, hdrs.CACHE_CONTROL: cache_control, hdrs.VARY: vary}
    if request.headers.get(hdrs.IF_NONE_MATCH) == etag:
        return web.Response(status=304, headers=headers)
    headers[hdrs.LAST_MODIFIED] = _STARTED
    if immutable:
        headers[hdrs.EXPIRES] = formatdate(time.time() + _YEAR_S, usegmt=True)
    response = web.Response(body=body, headers=headers)
    response.headers[hdrs.CONTENT_TYPE] = content_type
    if vary.startswith("Accept-Encoding") and accepts_gzip(request):
        response.body = gzip.compress(body, compresslevel=1)
        response.headers[hdrs.CONTENT_ENCODING] = "gzip"
    return response


async def handle_openapi_v2(request: web.Request) -> web.Response:
    return _serve(
        request,
        openapi_v2(),
        cache_control="no-cache, private",
        protobuf=V2_PROTOBUF,
        vary="Accept-Encoding, Accept",
    )


async def handle_openapi_v3_index(request: web.Request) -> web.Response:
    """The index: JSON sent as text/plain, as kube-openapi does, with no ETag."""
    paths = {
        path: {"serverRelativeURL": f"/openapi/v3/{path}?hash={_hash(document)}"}
        for path, document in openapi_v3_documents().items()
    }
    body = json.dumps({"paths": paths}, separators=(",", ":")).encode()
    return web.Response(
        body=body,
        content_type="text/plain",
        charset="utf-8",
        headers={hdrs.LAST_MODIFIED: _STARTED},
    )


async def handle_openapi_v3_document(request: web.Request) -> web.StreamResponse:
    path = request.match_info["path"]
    document = openapi_v3_documents().get(path)
    if document is None:
        return web.Response(status=404)
    wanted = request.query.get("hash")
    if wanted is None:
        return _serve(request, document, cache_control="no-cache, private", protobuf=V3_PROTOBUF)
    if wanted != _hash(document):
        raise web.HTTPMovedPermanently(f"/openapi/v3/{path}?hash={_hash(document)}")
    return _serve(
        request,
        document,
        cache_control="public, immutable",
        protobuf=V3_PROTOBUF,
        immutable=True,
    )
