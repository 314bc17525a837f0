"""TokenRequest: POST .../serviceaccounts/NAME/token issues a service-account token.

As the apiserver: the service account must exist (404 otherwise), expirationSeconds
defaults to 3600 and must lie in [10 minutes, 2^32 s] (422 otherwise), audiences
default to the API server's own, and the answer echoes the spec with both filled in.
"""

from __future__ import annotations

from aiohttp import web

from proxy.testing import status
from proxy.testing.bodies import read_document
from proxy.testing.issued_tokens import MAX_EXPIRATION_SECONDS, MIN_EXPIRATION_SECONDS
from proxy.testing.responses import json_response
from proxy.testing.state import STATE, request_user

GROUP = "authentication.k8s.io"


def _invalid_expiration(seconds: int, problem: str) -> status.APIError:
    message = f"Invalid value: {seconds}: {problem}"
    return status.APIError(
        422,
        reason="Invalid",
        message=f'TokenRequest.{GROUP} "" is invalid: spec.expirationSeconds: {message}',
        details={
            "group": GROUP,
            "kind": "TokenRequest",
            "causes": [
                {"reason": "FieldValueInvalid", "message": message,
                 "field": "spec.expirationSeconds"}
            ],
        },
    )


async def handle_token_request(request: web.Request) -> web.Response:
    """POST /api/v1/namespaces/{namespace}/serviceaccounts/{name}/token."""
    state = request.app[STATE]
    namespace, name = request.match_info["namespace"], request.match_info["name"]
    account = state.store.get("serviceaccounts", name, namespace=namespace)
    body = await read_document(request)
    if not isinstance(body, dict) or body.get("kind", "TokenRequest") != "TokenRequest":
        raise status.bad_request(
            "the object provided is unrecognized (must be of type TokenRequest)"
        )
    spec = body.get("spec") or {}
    seconds = int(spec.get("expirationSeconds") or 3600)
    if seconds < MIN_EXPIRATION_SECONDS:
        raise _invalid_expiration(seconds, "may not specify a duration less than 10 minutes")
    if seconds > MAX_EXPIRATION_SECONDS:
        raise _invalid_expiration(seconds, "may not specify a duration larger than 2^32 seconds")
    audiences = tuple(spec.get("audiences") or state.authenticator.api_audiences)
    issuer = state.authenticator.issuer
    issuer.requests.append((request_user(request).name, f"{namespace}/{name}"))
    user = f"system:serviceaccount:{namespace}:{name}"
    groups = ("system:serviceaccounts", f"system:serviceaccounts:{namespace}")
    token, issued = issuer.issue(
        user=user,
        groups=groups,
        audiences=audiences,
        seconds=seconds,
        uid=account["metadata"]["uid"],
    )
    answer = {
        "kind": "TokenRequest",
        "apiVersion": f"{GROUP}/v1",
        "metadata": {"name": name, "namespace": namespace, "creationTimestamp": None},
        "spec": {**spec, "audiences": list(audiences), "expirationSeconds": seconds},
        "status": {
            "token": token,
            "expirationTimestamp": issued.expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
    }
    return json_response(request, answer, status=201)
