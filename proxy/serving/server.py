"""Listening: TCP or a private unix socket, the start-up banner, signals."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import ssl
import stat
from pathlib import Path
from typing import Any

from aiohttp import web

from proxy.config import LimitsConfig, ListenConfig
from proxy.errors import ConfigError
from proxy.serving.limits import GuardedRunner

log = logging.getLogger(__name__)

SHUTDOWN_TIMEOUT_SECONDS = 2.0
# Connections the kernel queues before they are accepted (aiohttp's own default).
UNIX_BACKLOG = 128


class ProxyServer:
    """Runs an application on the configured listener; `address` is known once started."""

    def __init__(
        self,
        app: web.Application,
        listen: ListenConfig,
        *,
        sock: socket.socket | None = None,
        reuse_port: bool = False,
        limits: LimitsConfig | None = None,
        ssl_context: ssl.SSLContext | None = None,
        shutdown_timeout: float = SHUTDOWN_TIMEOUT_SECONDS,
    ):
        """`sock`: serve on this listening socket (a worker's inherited one) instead;
        `reuse_port`: bind with SO_REUSEPORT beside the other workers."""
        self._app = app
        self._listen = listen
        self._sock = sock
        self._reuse_port = reuse_port
        self._limits = limits or LimitsConfig()
        self._ssl_context = ssl_context
        self._shutdown_timeout = shutdown_timeout
        self._runner: web.AppRunner | None = None
        self.address = ""
        self.port = 0

    async def start(self) -> str:
        """Listen first, then report the bound address (port 0 picks a free one)."""
        limits = self._limits
        runner = GuardedRunner(
            self._app,
            header_timeout=limits.header_timeout,
            handler_cancellation=True,  # a client that goes away ends its upstream request
            auto_decompress=False,  # bodies pass through as sent
            access_log=None,
            max_line_size=limits.max_header_bytes,
            max_field_size=limits.max_header_bytes,
            max_headers=limits.max_headers,
            # Idle between requests; the head deadline takes over at the next head's first byte.
            keepalive_timeout=limits.idle_timeout,
            # On SIGTERM: stop listening, end the watches, give requests this long to finish.
            shutdown_timeout=self._shutdown_timeout,
        )
        await runner.setup()
        self._runner = runner
        try:
            if self._sock is not None:
                await web.SockSite(runner, self._sock, ssl_context=self._ssl_context).start()
                self.address = self._listen_address()
            elif self._listen.unix_socket is not None:
                self.address = await self._start_unix(runner, self._listen.unix_socket)
            else:
                self.address = await self._start_tcp(runner)
        except BaseException:
            await runner.cleanup()
            raise
        return self.address

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _start_tcp(self, runner: web.AppRunner) -> str:
        site = web.TCPSite(
            runner,
            self._listen.address,
            self._listen.port,
            reuse_port=self._reuse_port or None,
            ssl_context=self._ssl_context,
        )
        try:
            await site.start()
        except OSError as exc:
            reason = (exc.strerror or str(exc)).lower()
            raise ConfigError(
                f"cannot listen on {self._listen.address}:{self._listen.port}: {reason}"
            ) from None
        # The runner's addresses, not asyncio's Server type: uvloop has its own.
        sockname = runner.addresses[0]
        self.port = sockname[1]
        return format_address(sockname)

    def _listen_address(self) -> str:
        assert self._sock is not None
        if self._sock.family == socket.AF_UNIX:
            return str(self._listen.unix_socket or self._sock.getsockname())
        sockname = self._sock.getsockname()
        self.port = sockname[1]
        return format_address(sockname)

    async def _start_unix(self, runner: web.AppRunner, path: Path) -> str:
        sock = bind_private_unix_socket(path)
        try:
            await web.SockSite(runner, sock, ssl_context=self._ssl_context).start()
        except BaseException:
            sock.close()
            raise
        return str(path)


def format_address(sockname: tuple[Any, ...]) -> str:
    """`host:port`, IPv6 hosts in brackets, as the banner shows it."""
    host, port = sockname[0], sockname[1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def bind_private_unix_socket(path: Path, *, backlog: int = UNIX_BACKLOG) -> socket.socket:
    """`--unix-socket`: a listening socket only its owner can connect to; a stale one is replaced.

    Private from birth (umask 0077 while binding): no window in which another user could
    connect. Kept by the caller, which closes it.
    """
    remove_stale_socket(path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old_umask = os.umask(0o077)
    try:
        sock.bind(str(path))
    except OSError as exc:
        sock.close()
        reason = (exc.strerror or str(exc)).lower()
        raise ConfigError(f"cannot listen on {path}: {reason}") from None
    finally:
        os.umask(old_umask)
    os.chmod(path, 0o600)
    sock.listen(backlog)
    return sock


def remove_stale_socket(path: Path) -> None:
    """Remove a socket left by a dead proxy; never a live socket, never another kind of file."""
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(mode):
        raise ConfigError(f"--unix-socket {path}: exists and is not a socket; not replacing it")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(str(path))
    except OSError:
        path.unlink()
        return
    finally:
        probe.close()
    raise ConfigError(f"--unix-socket {path}: another process is serving on it")


def install_shutdown_signals() -> asyncio.Event:
    """An event set on SIGINT or SIGTERM; a second signal exits at once.

    Installed before the banner is printed, so a supervisor that signals as
    soon as it sees the banner still gets a clean shutdown.
    """
    loop = asyncio.get_running_loop()
    received = asyncio.Event()

    def on_signal(signum: int) -> None:
        if received.is_set():
            log.warning("second %s: exiting at once", signal.Signals(signum).name)
            os._exit(128 + signum)
        log.info("%s received: shutting down", signal.Signals(signum).name)
        received.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        # Not a stub: event loops without signal support (asyncio's on Windows) raise
        # NotImplementedError here; such a loop keeps its default handling of the signal.
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, on_signal, signum)
    return received
