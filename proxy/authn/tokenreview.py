"""Callers authenticated by TokenReview: each presents its own token; the API server vouches.

The answer is cached by an HMAC of the token under a key made at start-up, so
no token is ever kept as a cache key; concurrent reviews of one token are one
request; positive answers live `--authn-cache-ttl`, negative ones 10 seconds.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from proxy.clock import Clock, monotonic
from proxy.errors import UpstreamError
from proxy.identity import Identity
from proxy.upstream.review_cache import ReviewCache, ReviewCall

log = logging.getLogger(__name__)

TOKENREVIEW_PATH = "/apis/authentication.k8s.io/v1/tokenreviews"
NEGATIVE_TTL_SECONDS = 10.0

@dataclass(frozen=True)
class ReviewResult:
    identity: Identity | None
    reason: str = ""


class TokenReviewer:
    def __init__(
        self,
        *,
        call: ReviewCall,
        audiences: tuple[str, ...] = (),
        cache_ttl: float = 120.0,
        max_entries: int = 10_000,
        clock: Clock = monotonic,
    ):
        self._call = call
        self._audiences = audiences
        self._key = secrets.token_bytes(32)
        self.cache: ReviewCache[bytes, ReviewResult] = ReviewCache(
            positive_ttl=cache_ttl, negative_ttl=NEGATIVE_TTL_SECONDS,
            is_positive=lambda result: result.identity is not None,
            max_entries=max_entries, clock=clock,
        )

    async def authenticate(
        self, token: str, *, admit: Callable[[], None] | None = None
    ) -> ReviewResult:
        """`admit` may refuse (raise) before a review of a token the cache does not know."""
        key = hmac.new(self._key, token.encode(), hashlib.sha256).digest()
        return await self.cache.get(key, lambda: self._review(token), admit=admit)

    async def _review(self, token: str) -> ReviewResult:
        spec: dict[str, Any] = {"token": token}
        if self._audiences:
            spec["audiences"] = list(self._audiences)
        body = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": spec}
        status, answer = await self._call("POST", TOKENREVIEW_PATH, body)
        if 300 <= status < 400:
            raise UpstreamError(f"TokenReview failed: the API server answered a redirect "
                                f"({status}) for POST {TOKENREVIEW_PATH}; not followed")
        if status not in (200, 201) or not isinstance(answer, dict):
            # Not a verdict on the token: do not cache, answer 503.
            raise UpstreamError(f"TokenReview failed: the API server answered {status}")
        review = answer.get("status") or {}
        if not review.get("authenticated"):
            return ReviewResult(None, "invalid bearer token")
        if self._audiences and not set(self._audiences) & set(review.get("audiences") or ()):
            return ReviewResult(None, "the token is not for this proxy's audiences")
        user = review.get("user") or {}
        extra = {str(k): tuple(str(v) for v in values)
                 for k, values in (user.get("extra") or {}).items()}
        return ReviewResult(Identity(
            user=str(user.get("username", "")),
            uid=user.get("uid") or None,
            groups=tuple(str(g) for g in user.get("groups") or ()),
            extra=extra,
        ))
