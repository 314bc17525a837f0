"""A credential that expires: cached, renewed before it ends, one renewal at a time.

Shared by exec plugins, OIDC and TokenRequest. The semantics are client-go's:
many waiting requests cause one refresh (single flight); a failed refresh
keeps serving the cached credential while it is still valid; a 401 with the
cached credential drops it, and of N concurrent 401s only the first does.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from proxy.clock import Clock
from proxy.credentials.base import Credential
from proxy.errors import CredentialError

log = logging.getLogger(__name__)

wall_clock: Clock = time.time

# After a failed refresh with a still-valid credential, wait this long before trying again.
RETRY_AFTER_FAILURE_SECONDS = 5.0


@dataclass(frozen=True)
class Expiring:
    """A credential with the wall-clock times (epoch seconds) it expires and should be renewed."""

    credential: Credential
    expires_at: float | None = None
    renew_at: float | None = None


def renew_point(*, now: float, expires_at: float | None, fraction: float) -> float | None:
    """When to renew: after `fraction` of the remaining life (0.8 renews at 80%)."""
    if expires_at is None:
        return None
    return now + max(0.0, expires_at - now) * fraction


class RefreshingSource:
    """A `CredentialSource` over a `fetch` coroutine that obtains a fresh `Expiring`."""

    def __init__(
        self,
        *,
        kind: str,
        fetch: Callable[[], Awaitable[Expiring]],
        clock: Clock = wall_clock,
        initial: Expiring | None = None,
    ):
        self._kind = kind
        self._fetch = fetch
        self._clock = clock
        self._current = initial
        self._inflight: asyncio.Future[Credential] | None = None
        self._retry_at = float("-inf")
        self.refreshes = 0
        self.failures = 0

    @property
    def kind(self) -> str:
        return self._kind

    async def credential(self) -> Credential:
        current = self._current
        now = self._clock()
        if current is not None and not self._due(current, now):
            return current.credential
        if current is not None and now < self._retry_at and self._valid(current, now):
            return current.credential
        if self._inflight is None:
            self._inflight = asyncio.ensure_future(self._refresh())
        inflight = self._inflight
        try:
            return await asyncio.shield(inflight)
        except CredentialError as exc:
            if current is not None and self._valid(current, self._clock()):
                log.warning("%s: renewing the credential failed (%s); "
                            "still using the current one until it expires", self._kind, exc)
                return current.credential
            raise

    def invalidate(self, credential: Credential) -> None:
        if self._current is not None and self._current.credential is credential:
            log.info("%s: the API server refused the credential; obtaining a new one", self._kind)
            self._current = None

    async def _refresh(self) -> Credential:
        try:
            fresh = await self._fetch()
        except CredentialError:
            self.failures += 1
            self._retry_at = self._clock() + RETRY_AFTER_FAILURE_SECONDS
            raise
        finally:
            self._inflight = None
        self.refreshes += 1
        self._current = fresh
        return fresh.credential

    def _due(self, current: Expiring, now: float) -> bool:
        return current.renew_at is not None and now >= current.renew_at

    @staticmethod
    def _valid(current: Expiring, now: float) -> bool:
        return current.expires_at is None or now < current.expires_at
