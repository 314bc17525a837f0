"""authorization.k8s.io/v1: SubjectAccessReview, SelfSubjectAccessReview and
SelfSubjectRulesReview, answered from the same RBAC every request is checked against."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from proxy.testing import status
from proxy.testing.bodies import read_document
from proxy.testing.rbac import RBAC, Decision, Grant
from proxy.testing.request_info import RequestInfo
from proxy.testing.responses import json_response
from proxy.testing.state import STATE, request_user
from proxy.testing.status import JSONObject

AUTHORIZATION_GROUP = "authorization.k8s.io"
API_VERSION = f"{AUTHORIZATION_GROUP}/v1"


def _invalid(causes: list[tuple[str, str, str]]) -> status.APIError:
    """NewInvalid for a review: its kind is empty once decoded, hence ".authorization.k8s.io"."""
    texts = [f"{field}: Invalid value: {value}: {message}" for field, value, message in causes]
    summary = texts[0] if len(texts) == 1 else "[" + ", ".join(texts) + "]"
    return status.APIError(
        422,
        reason="Invalid",
        message=f'.{AUTHORIZATION_GROUP} "" is invalid: {summary}',
        details={
            "group": AUTHORIZATION_GROUP,
            "causes": [
                {"reason": "FieldValueInvalid", "message": f"Invalid value: {value}: {message}",
                 "field": field}
                for field, value, message in causes
            ],
        },
    )


def _attributes(spec: dict[str, Any]) -> tuple[RequestInfo | None, list[tuple[str, str, str]]]:
    resource = spec.get("resourceAttributes")
    non_resource = spec.get("nonResourceAttributes")
    causes: list[tuple[str, str, str]] = []
    if isinstance(resource, dict) and isinstance(non_resource, dict):
        causes.append(("spec.nonResourceAttributes", '"object"',
                       "cannot be specified in combination with resourceAttributes"))
    if not isinstance(resource, dict) and not isinstance(non_resource, dict):
        causes.append(("spec.resourceAttributes", '"null"',
                       "exactly one of nonResourceAttributes or resourceAttributes must be "
                       "specified"))
    if isinstance(resource, dict):
        return RequestInfo(
            verb=str(resource.get("verb", "")),
            path="",
            resource_request=True,
            api_group=str(resource.get("group", "")),
            api_version=str(resource.get("version", "")),
            namespace=str(resource.get("namespace", "")),
            resource=str(resource.get("resource", "")),
            subresource=str(resource.get("subresource", "")),
            name=str(resource.get("name", "")),
        ), causes
    if isinstance(non_resource, dict):
        return RequestInfo(
            verb=str(non_resource.get("verb", "")), path=str(non_resource.get("path", ""))
        ), causes
    return None, causes


async def _spec(request: web.Request, kind: str) -> dict[str, Any]:
    body = await read_document(request)
    if not isinstance(body, dict) or body.get("kind", kind) != kind:
        raise status.bad_request(f"the object provided is unrecognized (must be of type {kind})")
    spec = body.get("spec")
    return spec if isinstance(spec, dict) else {}


def _decide(rbac: RBAC | None, user: str, groups: tuple[str, ...], info: RequestInfo) -> Decision:
    if rbac is None:
        return Decision(True, "allowed by the fake RBAC")
    rbac.reviews += 1
    return rbac.decide(user, groups, info)


def _review(kind: str, spec: dict[str, Any], decision: Decision) -> JSONObject:
    review_status: JSONObject = {"allowed": decision.allowed}
    if decision.reason:
        review_status["reason"] = decision.reason
    return {
        "kind": kind,
        "apiVersion": API_VERSION,
        "metadata": {"creationTimestamp": None},
        "spec": spec,
        "status": review_status,
    }


async def handle_subject_access_review(request: web.Request) -> web.Response:
    """POST subjectaccessreviews: may `spec.user` (with `spec.groups`) do this?"""
    spec = await _spec(request, "SubjectAccessReview")
    info, causes = _attributes(spec)
    groups = tuple(str(g) for g in spec.get("groups") or ())
    if not spec.get("user") and not groups:
        causes.append(("spec.user", '""', "at least one of user or group must be specified"))
    if causes or info is None:
        raise _invalid(causes)
    decision = _decide(request.app[STATE].rbac, str(spec.get("user", "")), groups, info)
    return json_response(request, _review("SubjectAccessReview", spec, decision), status=201)


async def handle_self_subject_access_review(request: web.Request) -> web.Response:
    """POST selfsubjectaccessreviews: may I do this?"""
    spec = await _spec(request, "SelfSubjectAccessReview")
    info, causes = _attributes(spec)
    if causes or info is None:
        raise _invalid(causes)
    user = request_user(request)
    decision = _decide(request.app[STATE].rbac, user.name, user.groups, info)
    return json_response(request, _review("SelfSubjectAccessReview", spec, decision), status=201)


def _rule(grant: Grant) -> tuple[str, JSONObject]:
    if grant.non_resource_urls:
        return "nonResourceRules", {
            "verbs": list(grant.verbs), "nonResourceURLs": list(grant.non_resource_urls)
        }
    rule: JSONObject = {
        "verbs": list(grant.verbs),
        "apiGroups": list(grant.api_groups),
        "resources": list(grant.resources),
    }
    if grant.resource_names:
        rule["resourceNames"] = list(grant.resource_names)
    return "resourceRules", rule


async def handle_self_subject_rules_review(request: web.Request) -> web.Response:
    """POST selfsubjectrulesreviews: everything I may do in spec.namespace."""
    spec = await _spec(request, "SelfSubjectRulesReview")
    user = request_user(request)
    rbac = request.app[STATE].rbac
    rules: dict[str, list[JSONObject]] = {"resourceRules": [], "nonResourceRules": []}
    everything = Grant(verbs=("*",))
    grants = [everything, Grant(verbs=("*",), non_resource_urls=("*",))]
    if rbac is not None and "system:masters" not in user.groups:
        grants = rbac.rules_for(user, str(spec.get("namespace", "")))
    for grant in grants:
        key, rule = _rule(grant)
        rules[key].append(rule)
    review = {
        "kind": "SelfSubjectRulesReview",
        "apiVersion": API_VERSION,
        "metadata": {"creationTimestamp": None},
        "spec": spec,
        "status": {**rules, "incomplete": False},
    }
    return json_response(request, review, status=201)
