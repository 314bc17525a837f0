"""The clusters the proxy serves now: the current context's, and with --all-contexts every one.

A `Targets` is replaced whole when the kubeconfig changes; a request keeps the
upstream it started with (an open watch finishes on the old credential), and a
replaced upstream's connections are closed as soon as its last request ends,
so reloads (an OIDC refresh rewrites the kubeconfig) do not pile up sessions.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from proxy.clock import Clock, monotonic
from proxy.config import CredentialConfig, KubeconfigSource, ServeConfig
from proxy.credentials.refreshing import wall_clock
from proxy.errors import ConfigError
from proxy.kubeconfig import load_kubeconfig
from proxy.routing.target import Target, build_target
from proxy.upstream.session import Upstream

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
    clock: Clock = monotonic,
    wall: Clock = wall_clock,
) -> Targets:
    """The current context must work; with --all-contexts, others that fail are listed as such.

    `clock` and `wall` go to every target (`build_target` says what each paces)."""
    current = build_target(source, serve, credentials, clock=clock, wall=wall)
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
                                          credentials, clock=clock, wall=wall)
        except ConfigError as exc:
            log.warning("context %r is not served: %s", name, exc)
            failed[name] = str(exc)
    return Targets(current=current, contexts=contexts, failed=failed, all_contexts=True)


class LiveTargets:
    """Holds the `Targets` in use, and the upstream sessions' lifecycle: started with the
    proxy or when a reload brings them, closed when replaced and idle, or when it stops."""

    def __init__(self, targets: Targets):
        self.targets = targets
        # Replaced upstreams whose requests have not all ended, each with its closing task.
        self._retiring: dict[asyncio.Future[None], Upstream] = {}
        self._started = False
        self.retired = 0  # replaced upstreams closed so far

    async def start(self) -> None:
        for upstream in self.targets.upstreams():
            await upstream.start()
        self._started = True

    async def replace(self, targets: Targets) -> None:
        if self._started:
            for upstream in targets.upstreams():
                await upstream.start()
        kept = {id(upstream) for upstream in targets.upstreams()}
        replaced = [u for u in self.targets.upstreams() if id(u) not in kept]
        self.targets = targets
        for upstream in replaced:
            closing = asyncio.ensure_future(self._close_when_idle(upstream))
            self._retiring[closing] = upstream
            closing.add_done_callback(self._forget)

    @property
    def retiring(self) -> int:
        """Replaced upstreams still serving requests that began on them."""
        return len(self._retiring)

    async def _close_when_idle(self, upstream: Upstream) -> None:
        await upstream.in_flight.idle()
        await upstream.close()
        self.retired += 1
        log.info("closed the connections to %s of a replaced kubeconfig", upstream.base_url)

    def _forget(self, closing: asyncio.Future[None]) -> None:
        self._retiring.pop(closing, None)

    async def close(self) -> None:
        """Close every upstream, replaced ones with requests still open included."""
        retiring = list(self._retiring.items())
        for closing, _ in retiring:
            closing.cancel()
        await asyncio.gather(*(closing for closing, _ in retiring), return_exceptions=True)
        upstreams = {id(u): u for u in [*self.targets.upstreams(), *(u for _, u in retiring)]}
        await asyncio.gather(*(u.close() for u in upstreams.values()))
