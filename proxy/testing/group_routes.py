"""Requests below /apis/GROUP/VERSION/: the review APIs (create-only) and the resources of
named groups (apps/v1 ...), with the apiserver's two kinds of 404: plain text for a group
it does not serve, a Status for an unknown version or resource of one it does."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from proxy.testing import access_reviews, reviews, status
from proxy.testing.discovery import AUTHENTICATION_GROUP, AUTHORIZATION_GROUP, served_groups
from proxy.testing.resources import handle_resource

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
CREATE_ONLY: dict[tuple[str, str], Handler] = {
    (AUTHENTICATION_GROUP, "tokenreviews"): reviews.handle_token_review,
    (AUTHENTICATION_GROUP, "selfsubjectreviews"): reviews.handle_self_subject_review,
    (AUTHORIZATION_GROUP, "subjectaccessreviews"): access_reviews.handle_subject_access_review,
    (AUTHORIZATION_GROUP, "selfsubjectaccessreviews"):
        access_reviews.handle_self_subject_access_review,
    (AUTHORIZATION_GROUP, "selfsubjectrulesreviews"):
        access_reviews.handle_self_subject_rules_review,
}
_REVIEW_GROUPS = frozenset({AUTHENTICATION_GROUP, AUTHORIZATION_GROUP})


async def handle_group_resource(request: web.Request) -> web.StreamResponse:
    group, version = request.match_info["group"], request.match_info["version"]
    versions = served_groups().get(group)
    if not group or versions is None:
        raise web.HTTPNotFound()
    if version not in versions:
        raise status.resource_not_found()
    handler = CREATE_ONLY.get((group, request.match_info["tail"]))
    if handler is not None:
        if request.method != "POST":
            raise status.method_not_allowed()
        return await handler(request)
    if group in _REVIEW_GROUPS:
        raise status.resource_not_found()
    return await handle_resource(request)


async def handle_core_version(request: web.Request) -> web.StreamResponse:
    """/api/VERSION/... for a version other than v1."""
    raise status.resource_not_found()
