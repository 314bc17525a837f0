"""JSON responses encoded the way the apiserver encodes them (compact, newline, gzip)."""

from __future__ import annotations

import gzip
import json
from typing import Any

from aiohttp import hdrs, web

from proxy.testing.status import APIError

# responsewriters.defaultGzipThresholdBytes: larger bodies are gzipped when the client allows.
GZIP_THRESHOLD_BYTES = 128 * 1024


def encode_json(obj: Any) -> bytes:
    """Go's json.Encoder output: compact, with a trailing newline."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"


def accepts_gzip(request: web.Request) -> bool:
    encodings = request.headers.get(hdrs.ACCEPT_ENCODING, "")
    return any(e.split(";")[0].strip().lower() == "gzip" for e in encodings.split(","))


def json_response(request: web.Request, obj: Any, *, status: int = 200) -> web.Response:
    body = encode_json(obj)
    response = web.Response(body=body, status=status, content_type="application/json")
    if len(body) > GZIP_THRESHOLD_BYTES and accepts_gzip(request):
        response.body = gzip.compress(body, compresslevel=1)
        response.headers[hdrs.CONTENT_ENCODING] = "gzip"
        response.headers.add(hdrs.VARY, "Accept-Encoding")
    return response


def error_response(error: APIError) -> web.Response:
    return web.Response(
        body=encode_json(error.to_status()),
        status=error.code,
        content_type="application/json",
    )
