"""Decoding request bodies (JSON or YAML) into objects, with the apiserver's 400s."""

from __future__ import annotations

import json
from typing import Any

import yaml
from aiohttp import hdrs, web

from proxy.testing import status
from proxy.testing.kinds import ResourceKind
from proxy.testing.protobuf import decode_object
from proxy.testing.status import JSONObject

YAML_TYPES = frozenset({"application/yaml", "application/x-yaml", "text/yaml"})
PROTOBUF = "application/vnd.kubernetes.protobuf"


def media_type(request: web.Request) -> str:
    return request.headers.get(hdrs.CONTENT_TYPE, "").split(";")[0].strip().lower()


async def read_document(request: web.Request) -> Any:
    """The body parsed as JSON, or YAML when the Content-Type says so; 400 if it cannot be."""
    raw = await request.read()
    if media_type(request) == PROTOBUF:
        return decode_object(raw)
    try:
        if media_type(request) in YAML_TYPES:
            return yaml.safe_load(raw)
        return json.loads(raw)
    except (ValueError, yaml.YAMLError) as error:
        raise status.bad_request(f"json parse error: {error}") from error


async def read_object(request: web.Request, kind: ResourceKind) -> JSONObject:
    """A body that must be an object of `kind` (missing kind/apiVersion are defaulted)."""
    try:
        document = await read_document(request)
    except status.APIError as error:
        raise status.bad_request(
            f"the object provided is unrecognized (must be of type {kind.kind}): {error.message}"
        ) from error
    if not isinstance(document, dict):
        raise status.bad_request(
            f"the object provided is unrecognized (must be of type {kind.kind}): "
            "couldn't get version/kind; json parse error: expected an object"
        )
    sent_kind = document.get("kind")
    sent_version = document.get("apiVersion")
    if sent_version and sent_version != kind.api_version:
        raise status.bad_request(
            f"the API version in the data ({sent_version}) does not match the expected API "
            f"version ({kind.api_version})"
        )
    if sent_kind and sent_kind != kind.kind:
        raise status.bad_request(
            f"the object provided is unrecognized (must be of type {kind.kind}): {sent_kind}"
        )
    metadata = document.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise status.bad_request("metadata must be an object")
    return document
