"""Running a configured proxy: logging, the banner, signals, workers (the proxy itself is
composed in serving/root.py).

`cli` turns argv into a `ProxyConfig`; this module takes it from there.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import sys

from proxy.config import ProxyConfig
from proxy.redact import install_redaction, mask_log_records, redact
from proxy.routing.target_set import Targets
from proxy.serving.eventloop import run as run_event_loop
from proxy.serving.root import Proxy, compose
from proxy.serving.server import install_shutdown_signals
from proxy.serving.workers import WorkerListener, run_workers

log = logging.getLogger("proxy")

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
    # The access log has its own switch (--access-log; by default on from -v 1).
    logging.getLogger("proxy.access").setLevel(logging.INFO if access_log else logging.WARNING)
    # A malformed request is the client's mistake, answered with a 400; aiohttp would log a
    # traceback for each one. The proxy's own failures are logged by its middleware.
    logging.getLogger("aiohttp.server").setLevel(logging.CRITICAL)


def banner(address: str, targets: Targets) -> str:
    current = targets.current
    line = (f"Starting to serve on {address} "
            f'(context "{current.context.context or "-"}", '
            f"API server {current.upstream.base_url})")
    if targets.all_contexts:
        line += f"; {len(targets.contexts)} clusters under /clusters/"
    return redact(line)  # a server URL may carry userinfo


def run(config: ProxyConfig) -> int:
    """Options → Complete → Validate → Run. ConfigError surfaces before anything listens."""
    proxy = compose(config)
    runtime = proxy.config.runtime
    if runtime.workers > 1:

        def worker(listener: WorkerListener) -> int:
            run_event_loop(serve(proxy, listener), event_loop=runtime.event_loop)
            return 0

        return run_workers(
            runtime.workers, proxy.config.listen, worker=worker,
            announce=lambda address: print(banner(address, proxy.live.targets), flush=True),
        )
    run_event_loop(serve(proxy), event_loop=runtime.event_loop)
    return 0


async def serve(proxy: Proxy, worker: WorkerListener | None = None) -> None:
    """Serve until SIGINT/SIGTERM; SIGHUP re-reads the kubeconfig."""
    shutdown = install_shutdown_signals()
    try:
        address = await proxy.start(worker)
        reloader = proxy.reloader
        # Not a stub: event loops without signal support (asyncio's on Windows) raise
        # NotImplementedError here; such a proxy simply has no SIGHUP reload.
        with contextlib.suppress(NotImplementedError):
            asyncio.get_running_loop().add_signal_handler(
                signal.SIGHUP, lambda: asyncio.ensure_future(reloader.reload("SIGHUP"))
            )
        if worker is None:
            print(banner(address, proxy.live.targets), flush=True)
        else:
            worker.ready(address)
        await shutdown.wait()
    finally:
        await proxy.stop()
