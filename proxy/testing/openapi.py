"""/openapi/v2 and /openapi/v3: documents built once, cached as bytes, served like kube-openapi
(ETag and If-None-Match, hash-addressed v3 documents that are immutable, 406 for protobuf)."""

from __future__ import annotations

import copy
import functools
import hashlib
import json
from typing import Any

from aiohttp import hdrs, web

from proxy.testing import status
from proxy.testing.discovery import GIT_VERSION
from proxy.testing.kinds import KINDS
from proxy.testing.openapi_definitions import kind_definitions, meta_definitions
from proxy.testing.openapi_filler import filler_definitions
from proxy.testing.openapi_paths import resource_paths
from proxy.testing.responses import error_response

_INFO = {"title": "Kubernetes", "version": GIT_VERSION}
_BEARER = {
    "BearerToken": {
        "description": "Bearer Token authentication",
        "type": "apiKey",
        "name": "authorization",
        "in": "header",
    }
}


def _core_paths() -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for kind in KINDS.values():
        paths.update(resource_paths(kind))
    return dict(sorted(paths.items()))


@functools.cache
def openapi_v2() -> bytes:
    """The Swagger 2.0 document: real paths and kinds, plus a few MB of filler definitions."""
    definitions = {**meta_definitions(), **kind_definitions(), **filler_definitions()}
    document = {
        "swagger": "2.0",
        "info": _INFO,
        "paths": _core_paths(),
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
    document = {
        "openapi": "3.0.0",
        "info": _INFO,
        "paths": {path: _v3_path(item) for path, item in _core_paths().items()},
        "components": {
            "schemas": dict(sorted(copy.deepcopy(schemas).items())),
            "securitySchemes": _BEARER,
        },
        "security": [{"BearerToken": []}],
    }
    return {"api/v1": json.dumps(_v3_refs(document), separators=(",", ":")).encode()}


def _hash(document: bytes) -> str:
    return hashlib.sha512(document).hexdigest().upper()


def _accepts_json(request: web.Request) -> bool:
    accept = request.headers.get(hdrs.ACCEPT, "")
    if not accept.strip():
        return True
    types = {entry.split(";")[0].strip().lower() for entry in accept.split(",")}
    return bool(types & {"application/json", "application/*", "*/*"})


def _serve(request: web.Request, document: bytes, *, cache_control: str) -> web.Response:
    if not _accepts_json(request):
        return error_response(status.not_acceptable("application/json"))
    etag = f'"{_hash(document)}"'
    headers = {hdrs.ETAG: etag, hdrs.CACHE_CONTROL: cache_control, hdrs.VARY: "Accept"}
    if request.headers.get(hdrs.IF_NONE_MATCH) == etag:
        return web.Response(status=304, headers=headers)
    return web.Response(body=document, content_type="application/json", headers=headers)


async def handle_openapi_v2(request: web.Request) -> web.Response:
    return _serve(request, openapi_v2(), cache_control="no-cache, private")


async def handle_openapi_v3_index(request: web.Request) -> web.Response:
    paths = {
        path: {"serverRelativeURL": f"/openapi/v3/{path}?hash={_hash(document)}"}
        for path, document in openapi_v3_documents().items()
    }
    body = json.dumps({"paths": paths}, separators=(",", ":")).encode()
    return _serve(request, body, cache_control="no-cache, private")


async def handle_openapi_v3_document(request: web.Request) -> web.StreamResponse:
    path = request.match_info["path"]
    document = openapi_v3_documents().get(path)
    if document is None:
        return web.Response(status=404, text="404 page not found\n")
    wanted = request.query.get("hash")
    if wanted is None:
        return _serve(request, document, cache_control="no-cache, private")
    if wanted != _hash(document):
        raise web.HTTPMovedPermanently(f"/openapi/v3/{path}?hash={_hash(document)}")
    return _serve(request, document, cache_control="public, immutable")
