"""TokenRequest: POST .../serviceaccounts/NAME/token issues a service-account token."""

from __future__ import annotations

from aiohttp import web

from proxy.testing import status
from proxy.testing.bodies import read_document
from proxy.testing.issued_tokens import MIN_EXPIRATION_SECONDS
from proxy.testing.responses import json_response
from proxy.testing.state import STATE, request_user


async def handle_token_request(request: web.Request) -> web.Response:
    """POST /api/v1/namespaces/{namespace}/serviceaccounts/{name}/token."""
    state = request.app[STATE]
    namespace, name = request.match_info["namespace"], request.match_info["name"]
    state.store.get("namespaces", namespace)  # 404 for a missing namespace, as the apiserver
    body = await read_document(request)
    if not isinstance(body, dict) or body.get("kind", "TokenRequest") != "TokenRequest":
        raise status.bad_request(
            "the object provided is unrecognized (must be of type TokenRequest)"
        )
    spec = body.get("spec") or {}
    seconds = int(spec.get("expirationSeconds") or 3600)
    if seconds < MIN_EXPIRATION_SECONDS:
        raise status.bad_request(
            "spec.expirationSeconds: may not specify a duration less than 10 minutes"
        )
    audiences = tuple(spec.get("audiences") or ("https://kubernetes.default.svc.cluster.local",))
    issuer = state.authenticator.issuer
    issuer.requests.append((request_user(request).name, f"{namespace}/{name}"))
    user = f"system:serviceaccount:{namespace}:{name}"
    groups = ("system:serviceaccounts", f"system:serviceaccounts:{namespace}")
    token, issued = issuer.issue(user=user, groups=groups, audiences=audiences, seconds=seconds)
    answer = {
        "kind": "TokenRequest",
        "apiVersion": "authentication.k8s.io/v1",
        "metadata": {"name": name, "namespace": namespace, "creationTimestamp": None},
        "spec": {**spec, "audiences": list(audiences), "expirationSeconds": seconds},
        "status": {
            "token": token,
            "expirationTimestamp": issued.expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
    }
    return json_response(request, answer, status=201)
