"""Authorization by SubjectAccessReview: the API server's RBAC decides, for the caller."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from proxy.authz.attributes import Attributes
from proxy.clock import Clock, monotonic
from proxy.errors import UpstreamError
from proxy.identity import Identity
from proxy.upstream.review_cache import ReviewCache, ReviewCall

SAR_PATH = "/apis/authorization.k8s.io/v1/subjectaccessreviews"
ALLOW_TTL_SECONDS = 300.0
DENY_TTL_SECONDS = 30.0


class SubjectAccessReviewer:
    def __init__(self, *, call: ReviewCall, clock: Clock = monotonic, max_entries: int = 10_000):
        self._call = call
        self.cache: ReviewCache[Hashable, tuple[bool, str]] = ReviewCache(
            positive_ttl=ALLOW_TTL_SECONDS, negative_ttl=DENY_TTL_SECONDS,
            is_positive=lambda answer: answer[0], max_entries=max_entries, clock=clock,
        )

    async def allows(self, identity: Identity, attributes: Attributes) -> tuple[bool, str]:
        key = (identity.user, identity.uid, identity.groups,
               tuple(sorted(identity.extra.items())), attributes)
        return await self.cache.get(key, lambda: self._review(identity, attributes))

    async def _review(self, identity: Identity, attributes: Attributes) -> tuple[bool, str]:
        spec: dict[str, Any] = {"user": identity.user, "groups": list(identity.groups)}
        if identity.uid:
            spec["uid"] = identity.uid
        if identity.extra:
            spec["extra"] = {k: list(v) for k, v in identity.extra.items()}
        if attributes.resource_request:
            spec["resourceAttributes"] = {
                "namespace": attributes.namespace, "verb": attributes.verb,
                "group": attributes.api_group, "version": attributes.api_version,
                "resource": attributes.resource, "subresource": attributes.subresource,
                "name": attributes.name,
            }
        else:
            spec["nonResourceAttributes"] = {"path": attributes.path, "verb": attributes.verb}
        body = {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
                "spec": spec}
        status, answer = await self._call("POST", SAR_PATH, body)
        if 300 <= status < 400:
            raise UpstreamError(f"SubjectAccessReview failed: the API server answered a "
                                f"redirect ({status}) for POST {SAR_PATH}; not followed")
        if status not in (200, 201) or not isinstance(answer, dict):
            raise UpstreamError(f"SubjectAccessReview failed: the API server answered {status}")
        verdict = answer.get("status") or {}
        return bool(verdict.get("allowed")) and not verdict.get("denied"), str(
            verdict.get("reason") or "")
