"""The resource names the API server's discovery reports: a bounded vocabulary for metric labels.

A request's path is the client's to choose, so a label read off it lets any client
add series without end (20,000 distinct paths once made 400,000). Labels come from
this set instead: the names `/api/v1` and `/apis/<group>/<version>` list,
subresources included (`pods/log`), fetched through the upstream with the proxy's
own credential (never following a redirect). Fetched lazily: when `/metrics` is
scraped after a resource request, or when the metrics' waiting room for undecided
labels fills up, so an idle or unscraped proxy makes no calls of its own. Kept for
`max_age`; fetched again, no more often than every `min_interval`, once a name
outside the set was seen.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from proxy.clock import Clock, monotonic
from proxy.errors import ProxyError
from proxy.upstream.session import Upstream

log = logging.getLogger(__name__)

OTHER = "other"
DEFAULT_MAX_AGE = 600.0
DEFAULT_MIN_INTERVAL = 60.0
# However many groups an API server reports, the vocabulary stays this small.
MAX_NAMES = 4096
_DISCOVERY_CONCURRENCY = 8
_SEGMENT = r"[a-z0-9](?:[a-z0-9.\-]{0,251}[a-z0-9])?"
_RESOURCE_NAME = re.compile(f"{_SEGMENT}(?:/{_SEGMENT})?")
_GROUP_VERSION = re.compile(f"({_SEGMENT})/({_SEGMENT})")

Names = frozenset[tuple[str, str]]  # (API group, resource or resource/subresource)
Fetch = Callable[[], Awaitable[Names]]


class ResourceNames:
    """(group, resource) → the metric label: the resource's name if discovery reports it.

    Contract: `label` never blocks and never calls out; `refresh_if_due` (at scrape time)
    and `start_refresh` fetch in a task of their own, at most one at a time.
    """

    def __init__(
        self,
        fetch: Fetch,
        *,
        max_age: float = DEFAULT_MAX_AGE,
        min_interval: float = DEFAULT_MIN_INTERVAL,
        clock: Clock = monotonic,
    ) -> None:
        self._fetch = fetch
        self._max_age = max_age
        self._min_interval = min_interval
        self._clock = clock
        self._known: Names | None = None  # None until the first fetch ended
        self._fetched_at: float | None = None
        self._tried_at: float | None = None
        self._unknown_seen = False
        self._asked = False  # a label was asked for since the last fetch began
        self._task: asyncio.Task[None] | None = None

    def label(self, group: str, resource: str) -> str | None:
        """The label for a resource; None while the first fetch has not ended (decide later)."""
        self._asked = True
        if self._known is None:
            return None
        if (group, resource) in self._known:
            return resource
        self._unknown_seen = True
        return OTHER

    def start_refresh(self) -> None:
        """Fetch now in the background if the rate limit allows (and none is running)."""
        if self._task is not None:
            return
        now = self._clock()
        if self._tried_at is not None and now - self._tried_at < self._min_interval:
            return
        self._tried_at = now
        self._unknown_seen = self._asked = False
        self._task = asyncio.get_running_loop().create_task(self._refresh())

    async def refresh_if_due(self, *, wait: float) -> None:
        """At scrape time, if a label was asked for since: fetch if never fetched, stale, or a
        name outside the set was seen; wait up to `wait` seconds for a fetch in flight."""
        stale = self._fetched_at is None or self._clock() - self._fetched_at >= self._max_age
        if self._asked and (stale or self._unknown_seen):
            self.start_refresh()
        if self._task is not None:
            await asyncio.wait({self._task}, timeout=wait)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _refresh(self) -> None:
        try:
            names = await self._fetch()
        except (ProxyError, OSError, ValueError, TimeoutError) as exc:
            log.info("resource discovery for metric labels failed: %s", exc)
            if self._known is None:
                self._known = frozenset()
        else:
            self._known, self._fetched_at = names, self._clock()
        finally:
            self._task = None


async def discover_resource_names(upstream: Upstream) -> Names:
    """The (group, resource) pairs of `/api/v1` and every group version under `/apis`.

    A group version that does not answer (an aggregated API down) is skipped; the core
    list or the group list not answering fails the fetch.
    """
    names: set[tuple[str, str]] = set()
    _add_resources(names, "", await _get(upstream, "/api/v1", required=True))
    groups = await _get(upstream, "/apis", required=True)
    versions = []
    for group in groups.get("groups") or []:
        for version in (group.get("versions") or []) if isinstance(group, dict) else []:
            text = version.get("groupVersion") if isinstance(version, dict) else None
            match = _GROUP_VERSION.fullmatch(text) if isinstance(text, str) else None
            if match is not None:
                versions.append((match[1], match[0]))
    limit = asyncio.Semaphore(_DISCOVERY_CONCURRENCY)

    async def add_group_version(group: str, group_version: str) -> None:
        async with limit:
            _add_resources(names, group, await _get(upstream, f"/apis/{group_version}"))

    await asyncio.gather(*(add_group_version(g, gv) for g, gv in versions[:MAX_NAMES]))
    return frozenset(sorted(names)[:MAX_NAMES])


async def _get(upstream: Upstream, path: str, *, required: bool = False) -> dict[str, Any]:
    status, document = await upstream.request_json("GET", path, None, upstream.credentials)
    if status == 200 and isinstance(document, dict):
        return document
    if required:
        raise ValueError(f"GET {path} answered {status}")
    return {}


def _add_resources(names: set[tuple[str, str]], group: str, document: dict[str, Any]) -> None:
    for resource in document.get("resources") or []:
        name = resource.get("name") if isinstance(resource, dict) else None
        if isinstance(name, str) and _RESOURCE_NAME.fullmatch(name) and len(names) < MAX_NAMES:
            names.add((group, name))
