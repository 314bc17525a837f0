"""Live reload: the kubeconfig is watched and re-read on change or on SIGHUP.

A new `oc login` or `kubectl config use-context` takes effect for new requests
without a restart; requests already open (watches) finish on what they began
with; a kubeconfig that no longer parses keeps the old one in use, and says why.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from pathlib import Path

from proxy.config import KubeconfigSource
from proxy.errors import ConfigError
from proxy.routing.target_set import LiveTargets, Targets

log = logging.getLogger(__name__)

POLL_SECONDS = 2.0


def watched_paths(source: KubeconfigSource) -> tuple[Path, ...]:
    if source.explicit_path is not None:
        return (source.explicit_path,)
    if source.env_paths:
        return source.env_paths
    return (source.home_path,) if source.home_path is not None else ()


def _signature(paths: tuple[Path, ...]) -> tuple[tuple[int, int, int] | None, ...]:
    def one(path: Path) -> tuple[int, int, int] | None:
        try:
            stat = os.stat(path)
        except OSError:
            return None
        return (stat.st_mtime_ns, stat.st_size, stat.st_ino)

    return tuple(one(p) for p in paths)


class Reloader:
    def __init__(self, *, live: LiveTargets, build: Callable[[], Targets],
                 paths: tuple[Path, ...], poll_seconds: float = POLL_SECONDS):
        self._live = live
        self._build = build
        self._paths = paths
        self._poll = poll_seconds
        self._seen = _signature(paths)
        self._lock = asyncio.Lock()
        self.reloads = 0

    async def watch(self) -> None:
        """Poll the kubeconfig files until cancelled."""
        while True:
            await asyncio.sleep(self._poll)
            current = _signature(self._paths)
            if current != self._seen:
                self._seen = current
                await self.reload("the kubeconfig changed")

    async def reload(self, why: str) -> bool:
        async with self._lock:
            try:
                targets = await asyncio.to_thread(self._build)
            except ConfigError as exc:
                log.warning("%s, but it cannot be used; keeping the one loaded: %s", why, exc)
                return False
            await self._live.replace(targets)
            self.reloads += 1
            context = targets.current.context.context or "-"
            log.warning("%s: now serving context %r (API server %s)", why, context,
                        targets.current.upstream.base_url)
            return True
