"""The composition root: from a `ProxyConfig` to a proxy serving, for `run`, each worker and
the integration tests alike, so the tests exercise the wiring production runs.

`compose` completes and validates the configuration and builds what can fail on it (the
clusters and their credentials, the guards, the audit log) before anything listens; with
`--workers` it runs once, in the parent. `Proxy.start` builds the application, pairs each of
its resources' start-up with its teardown, and opens the listeners (the API's, then
`--health-port`'s); `Proxy.stop` closes them in reverse. In between, a kubeconfig reload
replaces the upstreams, and a replaced one is closed once its last request ends
(routing/target_set.py's `LiveTargets`, started and closed here with the app).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from aiohttp import web

from proxy.clock import Clock, monotonic
from proxy.config import ListenConfig, ProxyConfig
from proxy.credentials.refreshing import wall_clock
from proxy.errors import ConfigError
from proxy.ops.reload import Reloader, watched_paths
from proxy.redact import install_redaction
from proxy.routing.target_set import LiveTargets, Targets, build_targets
from proxy.serving.app import (
    LIVE,
    METRICS,
    RELOADER,
    STREAMS,
    TRIMMER,
    build_app,
    build_health_app,
)
from proxy.serving.guards import Guards, build_guards
from proxy.serving.listener_tls import is_loopback
from proxy.serving.server import ProxyServer
from proxy.serving.workers import WorkerListener

# With more than this many concurrent requests, one client address is throttled when the
# proxy is reachable from other hosts. On loopback every client shares 127.0.0.1: no cap.
EXPOSED_MAX_REQUESTS_PER_CLIENT = 512


def complete(config: ProxyConfig) -> ProxyConfig:
    """Defaults that depend on other settings."""
    limits = config.limits
    if limits.max_requests_per_client < 0:
        exposed = config.listen.unix_socket is None and not is_loopback(config.listen.address)
        limits = dataclasses.replace(
            limits,
            max_requests_per_client=EXPOSED_MAX_REQUESTS_PER_CLIENT if exposed else 0,
        )
    return dataclasses.replace(config, limits=limits)


def compose(config: ProxyConfig, *, clock: Clock = monotonic, wall: Clock = wall_clock) -> Proxy:
    """Complete → Validate: every ConfigError surfaces here, before anything listens.

    `clock` paces file re-reads and caches, `wall` is compared with expiry times: tests
    pass fakes for both.
    """
    config = complete(config)

    def rebuild() -> Targets:
        return build_targets(config.kubeconfig, config.serve, config.credentials,
                             all_contexts=config.operations.all_contexts, clock=clock, wall=wall)

    live = LiveTargets(rebuild())
    guards = build_guards(config.security, config.listen, lambda: live.targets.current.upstream)
    path = config.security.audit_log
    audit = AuditLog(path) if path is not None else None
    return Proxy(config, live=live, guards=guards, rebuild=rebuild, audit=audit, clock=clock)


class Proxy:
    """A composed proxy: `start` it once in the process that serves, `stop` it at the end."""

    def __init__(
        self,
        config: ProxyConfig,
        *,
        live: LiveTargets,
        guards: Guards,
        rebuild: Callable[[], Targets],
        audit: AuditLog | None,
        clock: Clock,
    ) -> None:
        self.config = config
        self.live = live
        self.guards = guards
        self._rebuild = rebuild
        self._audit = audit
        self._clock = clock
        self.app: web.Application | None = None
        self.server: ProxyServer | None = None
        self.health: ProxyServer | None = None

    @property
    def reloader(self) -> Reloader:
        """Re-reads the kubeconfig (on change, on SIGHUP); there once started."""
        assert self.app is not None, "start the proxy first"
        return self.app[RELOADER]

    async def start(self, worker: WorkerListener | None = None) -> str:
        """Build the app and listen; the bound address (port 0 picks a free one).

        A worker serves on what the parent bound for it; with `--workers` the first worker
        also serves `--health-port` (one port cannot be shared by the probes' listeners, and a
        worker that ends stops them all, so its readiness stands for every worker's; its
        `/-/metrics` count its own requests only).
        """
        config = self.config
        app = self.app = build_app(
            config.serve, self.live, security=config.security, limits=config.limits,
            guards=self.guards, operations=config.operations, clock=self._clock,
        )
        app[RELOADER] = Reloader(live=self.live, build=self._rebuild,
                                 paths=watched_paths(config.kubeconfig))
        pair_start_up_with_teardown(app, watch_kubeconfig=config.operations.reload)
        tls = self.guards.listener_tls.context if self.guards.listener_tls is not None else None
        self.server = ProxyServer(
            app, worker.listen if worker is not None else config.listen,
            sock=worker.sock if worker is not None else None,
            reuse_port=worker is not None and worker.sock is None,
            limits=config.limits, ssl_context=tls,
            shutdown_timeout=config.operations.shutdown_grace,
        )
        address = await self.server.start()
        operations = config.operations
        if operations.health_port is not None and (worker is None or worker.index == 0):
            self.health = ProxyServer(build_health_app(app), ListenConfig(
                address=operations.health_address, port=operations.health_port))
            try:
                await self.health.start()
            except BaseException:
                self.health = None
                await self.stop()
                raise
        return address

    async def stop(self) -> None:
        """Close the listeners, end open streams, close the upstreams and the audit log.

        Safe to call more than once, and when `start` failed or never ran."""
        if self.health is not None:
            await self.health.stop()
            self.health = None
        if self.server is not None:
            await self.server.stop()
            self.server = None
        if self._audit is not None:
            self._audit.close()
            self._audit = None


def pair_start_up_with_teardown(app: web.Application, *, watch_kubeconfig: bool) -> None:
    """Each resource the app holds, started before it listens and closed after it stops.

    At shutdown: open streams end first (their clients see a clean end), requests get the
    shutdown grace, then the kubeconfig watcher stops, the resource-name cache, and last
    the upstream sessions (replaced ones still serving requests included).
    """
    app.cleanup_ctx.append(_upstream_sessions)
    app.cleanup_ctx.append(_resource_names)  # torn down first: before the sessions close
    if watch_kubeconfig:
        app.cleanup_ctx.append(_watch_kubeconfig)
    app.on_shutdown.append(app[STREAMS].stop_all)
    app.on_cleanup.append(_stop_trimming)


async def _upstream_sessions(app: web.Application) -> AsyncIterator[None]:
    await app[LIVE].start()
    yield
    await app[LIVE].close()


async def _resource_names(app: web.Application) -> AsyncIterator[None]:
    yield
    names = app[METRICS].resource_names
    if names is not None:
        await names.close()


async def _watch_kubeconfig(app: web.Application) -> AsyncIterator[None]:
    watcher = asyncio.ensure_future(app[RELOADER].watch())
    yield
    watcher.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await watcher


async def _stop_trimming(app: web.Application) -> None:
    app[TRIMMER].cancel()


class AuditLog:
    """`--audit-log`: audit lines go to their own file (or standard output), one JSON object
    each, and nowhere else; `close` gives the `proxy.audit` logger back as it was found."""

    def __init__(self, path: Path) -> None:
        handler: logging.Handler
        if str(path) == "-":
            handler = logging.StreamHandler(sys.stdout)
        else:
            try:
                handler = logging.FileHandler(path, encoding="utf-8")
            except OSError as exc:
                reason = (exc.strerror or str(exc)).lower()
                raise ConfigError(f"--audit-log {path}: {reason}") from None
        handler.setFormatter(logging.Formatter("%(message)s"))
        install_redaction(handler)
        self._handler = handler
        self._logger = logging.getLogger("proxy.audit")
        self._found = (self._logger.handlers[:], self._logger.level, self._logger.propagate)
        self._logger.handlers[:] = [handler]
        self._logger.setLevel(logging.INFO)
        self._logger.propagate = False

    def close(self) -> None:
        handlers, level, propagate = self._found
        self._logger.handlers[:] = handlers
        self._logger.setLevel(level)
        self._logger.propagate = propagate
        self._handler.close()  # the file; standard output stays open
