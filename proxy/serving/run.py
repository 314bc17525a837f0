"""Running a configured proxy: logging, the listeners, the banner, signals, workers.

`cli` turns argv into a `ProxyConfig`; this module takes it from there.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import signal
import sys
from collections.abc import Callable
from pathlib import Path

from proxy.config import ListenConfig, ProxyConfig
from proxy.errors import ConfigError
from proxy.ops.reload import watched_paths
from proxy.redact import install_redaction, mask_log_records, redact
from proxy.routing.target_set import LiveTargets, Targets, build_targets
from proxy.serving.app import RELOADER, build_app, build_health_app
from proxy.serving.eventloop import run as run_event_loop
from proxy.serving.guards import Guards, build_guards
from proxy.serving.listener_tls import is_loopback
from proxy.serving.server import ProxyServer, install_shutdown_signals
from proxy.serving.workers import WorkerListener, run_workers

log = logging.getLogger("proxy")

# With more than this many concurrent requests, one client address is throttled when the
# proxy is reachable from other hosts. On loopback every client shares 127.0.0.1: no cap.
EXPOSED_MAX_REQUESTS_PER_CLIENT = 512


class JSONFormatter(logging.Formatter):
    """`--log-format json`: one object per line, for log shippers."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        http = getattr(record, "http", None)
        if isinstance(http, dict):
            entry.update(http)
        # exc_text, when set, is the traceback already masked by RedactingFilter.
        if record.exc_text:
            entry["error"] = record.exc_text
        elif record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, separators=(",", ":"))


def configure_logging(verbosity: int, *, log_format: str = "text", access_log: bool = True
                      ) -> None:
    level = logging.WARNING if verbosity <= 0 else logging.INFO if verbosity < 3 else logging.DEBUG
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JSONFormatter() if log_format == "json"
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    mask_log_records()
    install_redaction(handler)  # the message, the traceback, and the final line
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # The access log is on at the default verbosity; -v raises everything else.
    logging.getLogger("proxy.access").setLevel(logging.INFO if access_log else logging.WARNING)
    # A malformed request is the client's mistake, answered with a 400; aiohttp would log a
    # traceback for each one. The proxy's own failures are logged by its middleware.
    logging.getLogger("aiohttp.server").setLevel(logging.CRITICAL)


def configure_audit_log(path: Path | None) -> None:
    """Audit lines go to their own file (or standard output), one JSON object each."""
    if path is None:
        return
    handler: logging.Handler
    if str(path) == "-":
        handler = logging.StreamHandler(sys.stdout)
    else:
        try:
            handler = logging.FileHandler(path, encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"--audit-log {path}: {(exc.strerror or str(exc)).lower()}") from None
    handler.setFormatter(logging.Formatter("%(message)s"))
    install_redaction(handler)
    audit = logging.getLogger("proxy.audit")
    audit.handlers[:] = [handler]
    audit.setLevel(logging.INFO)
    audit.propagate = False


def banner(address: str, targets: Targets) -> str:
    current = targets.current
    line = (f"Starting to serve on {address} "
            f'(context "{current.context.context or "-"}", '
            f"API server {current.upstream.base_url})")
    if targets.all_contexts:
        line += f"; {len(targets.contexts)} clusters under /clusters/"
    return redact(line)  # a server URL may carry userinfo


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


def run(config: ProxyConfig) -> int:
    """Options → Complete → Validate → Run. ConfigError surfaces before anything listens."""
    config = complete(config)

    def rebuild() -> Targets:
        return build_targets(config.kubeconfig, config.serve, config.credentials,
                             all_contexts=config.operations.all_contexts)

    live = LiveTargets(rebuild())
    guards = build_guards(config.security, config.listen, lambda: live.targets.current.upstream)
    configure_audit_log(config.security.audit_log)
    runtime = config.runtime
    if runtime.workers > 1:

        def worker(listener: WorkerListener) -> int:
            run_event_loop(serve(config, live, guards, rebuild, listener),
                           event_loop=runtime.event_loop)
            return 0

        return run_workers(
            runtime.workers, config.listen, worker=worker,
            announce=lambda address: print(banner(address, live.targets), flush=True),
        )
    run_event_loop(serve(config, live, guards, rebuild), event_loop=runtime.event_loop)
    return 0


async def serve(
    config: ProxyConfig,
    live: LiveTargets,
    guards: Guards,
    rebuild: Callable[[], Targets],
    worker: WorkerListener | None = None,
) -> None:
    """Serve until SIGINT/SIGTERM; SIGHUP re-reads the kubeconfig."""
    shutdown = install_shutdown_signals()
    app = build_app(
        config.serve, live, security=config.security, limits=config.limits, guards=guards,
        operations=config.operations, rebuild=rebuild,
        watch_paths=watched_paths(config.kubeconfig),
    )
    tls = guards.listener_tls.context if guards.listener_tls is not None else None
    listen = worker.listen if worker is not None else config.listen
    server = ProxyServer(
        app, listen, sock=worker.sock if worker else None,
        reuse_port=worker is not None and worker.sock is None,
        limits=config.limits, ssl_context=tls,
        shutdown_timeout=config.operations.shutdown_grace,
    )
    health: ProxyServer | None = None
    address = await server.start()
    try:
        operations = config.operations
        if operations.health_port is not None and worker is None:
            health = ProxyServer(build_health_app(app), ListenConfig(
                address=operations.health_address, port=operations.health_port))
            await health.start()
        reloader = app[RELOADER]
        with contextlib.suppress(NotImplementedError):
            asyncio.get_running_loop().add_signal_handler(
                signal.SIGHUP, lambda: asyncio.ensure_future(reloader.reload("SIGHUP"))
            )
        if worker is None:
            print(banner(address, live.targets), flush=True)
        else:
            worker.ready(address)
        await shutdown.wait()
    finally:
        if health is not None:
            await health.stop()
        await server.stop()
