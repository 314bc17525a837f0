"""The clusters the proxy serves now: the current context's, and with --all-contexts every one.

A `Targets` is replaced whole when the kubeconfig changes; a request keeps the
upstream it started with (an open watch finishes on the old credential), and
retired upstreams are closed when the proxy stops.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from proxy.config import CredentialConfig, KubeconfigSource, ServeConfig
from proxy.errors import ConfigError
from proxy.kubeconfig import load_kubeconfig
from proxy.target import Target, build_target
from proxy.upstream import Upstream

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Targets:
    current: Target
    # Context name -> target, with --all-contexts; the error text for a context that failed.
    contexts: Mapping[str, Target] = field(default_factory=dict)
    failed: Mapping[str, str] = field(default_factory=dict)
    all_contexts: bool = False

    def upstreams(self) -> list[Upstream]:
        """Each upstream once (the current context's is also one of `contexts`)."""
        unique = {id(self.current.upstream): self.current.upstream}
        unique.update((id(t.upstream), t.upstream) for t in self.contexts.values())
        return list(unique.values())


def build_targets(
    source: KubeconfigSource,
    serve: ServeConfig,
    credentials: CredentialConfig,
    *,
    all_contexts: bool = False,
) -> Targets:
    """The current context must work; with --all-contexts, others that fail are listed as such."""
    current = build_target(source, serve, credentials)
    if not all_contexts:
        return Targets(current=current)
    contexts: dict[str, Target] = {}
    failed: dict[str, str] = {}
    for name in load_kubeconfig(source).contexts:
        if name == current.context.context:
            contexts[name] = current
            continue
        try:
            contexts[name] = build_target(dataclasses.replace(source, context=name), serve,
                                          credentials)
        except ConfigError as exc:
            log.warning("context %r is not served: %s", name, exc)
            failed[name] = str(exc)
    return Targets(current=current, contexts=contexts, failed=failed, all_contexts=True)


class LiveTargets:
    """Holds the `Targets` in use, and the upstream sessions' lifecycle."""

    def __init__(self, targets: Targets):
        self.targets = targets
        self._retired: list[Upstream] = []
        self._started = False

    async def start(self) -> None:
        for upstream in self.targets.upstreams():
            await upstream.start()
        self._started = True

    async def replace(self, targets: Targets) -> None:
        if self._started:
            for upstream in targets.upstreams():
                await upstream.start()
        self._retired.extend(self.targets.upstreams())
        self.targets = targets

    async def close(self) -> None:
        upstreams = {id(u): u for u in [*self.targets.upstreams(), *self._retired]}
        await asyncio.gather(*(u.close() for u in upstreams.values()))
