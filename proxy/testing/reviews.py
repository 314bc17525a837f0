"""authentication.k8s.io/v1: TokenReview (for a proxy that authenticates its own clients
against this server) and SelfSubjectReview (`kubectl auth whoami`)."""

from __future__ import annotations

from aiohttp import web

from proxy.testing import status
from proxy.testing.bodies import read_document
from proxy.testing.discovery import AUTHENTICATION_GROUP
from proxy.testing.responses import json_response
from proxy.testing.state import STATE, request_user
from proxy.testing.status import JSONObject

API_VERSION = f"{AUTHENTICATION_GROUP}/v1"
API_SERVER_AUDIENCE = "https://kubernetes.default.svc.cluster.local"


def _user_info(name: str, groups: tuple[str, ...]) -> JSONObject:
    return {"username": name, "groups": list(groups)}


async def _review_body(request: web.Request, kind: str) -> JSONObject:
    body = await read_document(request)
    if not isinstance(body, dict) or body.get("kind", kind) != kind:
        raise status.bad_request(f"the object provided is unrecognized (must be of type {kind})")
    return body


async def handle_token_review(request: web.Request) -> web.Response:
    body = await _review_body(request, "TokenReview")
    spec = body.get("spec") or {}
    token = str(spec.get("token", ""))
    authenticator = request.app[STATE].authenticator
    user = authenticator.user_for_token(token) if token else None
    wanted = list(spec.get("audiences") or [API_SERVER_AUDIENCE])
    issued = authenticator.issuer.lookup(token) if token else None
    # A TokenRequest token is good only for its own audiences; other tokens for the server's.
    token_audiences = list(issued.audiences) if issued else [API_SERVER_AUDIENCE]
    audiences = [a for a in wanted if a in token_audiences]
    review_status: JSONObject = {"authenticated": user is not None and bool(audiences)}
    if user is not None and audiences:
        review_status["user"] = _user_info(user.name, user.groups)
        review_status["audiences"] = audiences
    elif user is not None:
        review_status["error"] = "token audiences are invalid for the target audiences"
    else:
        review_status["error"] = "invalid bearer token"
    review = {
        "kind": "TokenReview",
        "apiVersion": API_VERSION,
        "metadata": {"creationTimestamp": None},
        "spec": body.get("spec") or {},
        "status": review_status,
    }
    return json_response(request, review, status=201)


async def handle_self_subject_review(request: web.Request) -> web.Response:
    await _review_body(request, "SelfSubjectReview")
    user = request_user(request)
    review = {
        "kind": "SelfSubjectReview",
        "apiVersion": API_VERSION,
        "metadata": {"creationTimestamp": None},
        "status": {"userInfo": _user_info(user.name, user.groups)},
    }
    return json_response(request, review, status=201)
