"""authentication.k8s.io/v1: TokenReview (for a proxy that authenticates its own clients
against this server) and SelfSubjectReview (`kubectl auth whoami`)."""

from __future__ import annotations

from aiohttp import web

from proxy.testing import status
from proxy.testing.auth import User
from proxy.testing.bodies import read_document
from proxy.testing.responses import json_response
from proxy.testing.state import STATE, request_user
from proxy.testing.status import JSONObject

AUTHENTICATION_GROUP = "authentication.k8s.io"
API_VERSION = f"{AUTHENTICATION_GROUP}/v1"


def user_info(user: User, *, name_key: str = "username") -> JSONObject:
    """authentication/v1 UserInfo: empty fields left out, as Go's omitempty does."""
    info: JSONObject = {name_key: user.name}
    if user.uid:
        info["uid"] = user.uid
    if user.groups:
        info["groups"] = list(user.groups)
    if user.extra:
        info["extra"] = {key: list(values) for key, values in user.extra}
    return info


async def _review_body(request: web.Request, kind: str) -> JSONObject:
    body = await read_document(request)
    if not isinstance(body, dict) or body.get("kind", kind) != kind:
        raise status.bad_request(f"the object provided is unrecognized (must be of type {kind})")
    return body


def _go_quoted_list(values: list[str]) -> str:
    return "[" + " ".join(f'"{v}"' for v in values) + "]"


async def handle_token_review(request: web.Request) -> web.Response:
    body = await _review_body(request, "TokenReview")
    spec = body.get("spec") or {}
    token = str(spec.get("token") or "")
    if not token:
        raise status.bad_request("token is required for TokenReview in authentication")
    authenticator = request.app[STATE].authenticator
    api_audiences = list(authenticator.api_audiences)
    wanted = list(spec.get("audiences") or api_audiences)
    review_status: JSONObject = {"user": {}}
    issued = authenticator.issuer.lookup(token)
    user = authenticator.user_for_token(token) if issued is None else None
    if issued is not None:
        audiences = [a for a in wanted if a in issued.audiences]
        if audiences:
            user = User(issued.user, issued.groups, issued.uid).with_group("system:authenticated")
        else:
            review_status["error"] = (
                f"token audiences {_go_quoted_list(list(issued.audiences))} is invalid for the "
                f"target audiences {_go_quoted_list(wanted)}"
            )
    else:
        # Static tokens are good for the API server's own audiences only.
        audiences = [a for a in wanted if a in api_audiences]
        if user is not None and not audiences:
            user = None
    if user is not None:
        review_status = {"authenticated": True, "user": user_info(user), "audiences": audiences}
    elif "error" not in review_status:
        review_status["error"] = "invalid bearer token"
    review = {
        "kind": "TokenReview",
        "apiVersion": API_VERSION,
        "metadata": {"creationTimestamp": None},
        "spec": spec,
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
        "status": {"userInfo": user_info(user)},
    }
    return json_response(request, review, status=201)
