"""`--workers N`: N processes serve one port; the parent binds, announces, and supervises.

The parent checks the listener first (so a taken port is an error before any
worker starts), forks the workers, waits until each one listens, prints the
banner once, then forwards SIGINT/SIGTERM to them as SIGTERM and exits when
they are all done: 0 when every worker shut down cleanly, 1 when one failed.

What workers share and what they do not:
- TCP: each worker binds its own socket with SO_REUSEPORT and the kernel spreads
  new connections over them; the parent's socket only holds the port (it never
  listens). A unix socket is created once by the parent and inherited: all
  workers accept on that one socket.
- Each worker has its own event loop, its own pooled upstream session and its
  own credential state: a token file is re-read, an exec plugin is run and an
  OIDC or TokenRequest token is refreshed by each worker for itself, so N
  workers make up to N such calls where one process makes one.
- Nothing else is shared; a request and its stream live in one worker.

Linux only (fork, SO_REUSEPORT balancing, PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import select
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass

from proxy.config import ListenConfig
from proxy.errors import ConfigError
from proxy.serving.server import bind_private_unix_socket, format_address

log = logging.getLogger(__name__)

MAX_WORKERS = 64
READY_TIMEOUT_SECONDS = 60.0
_PR_SET_PDEATHSIG = 1
_SIGNALS = {signal.SIGINT, signal.SIGTERM, signal.SIGCHLD}


@dataclass(frozen=True)
class WorkerListener:
    """What one worker serves on: the parent's unix socket, or the port with SO_REUSEPORT."""

    listen: ListenConfig
    sock: socket.socket | None
    ready_fd: int
    # The worker's place among its siblings, from 0: the first also serves --health-port
    # (a worker ending stops them all, so its readiness stands for theirs).
    index: int = 0

    def ready(self, address: str) -> None:
        """Tell the parent this worker is listening (called once, after the bind)."""
        os.write(self.ready_fd, b"1")
        os.close(self.ready_fd)


Worker = Callable[[WorkerListener], int]


def bind_listener(listen: ListenConfig) -> tuple[socket.socket, ListenConfig, str]:
    """The parent's socket, the config the workers bind with (port 0 resolved), the address."""
    if listen.unix_socket is not None:
        return bind_private_unix_socket(listen.unix_socket), listen, str(listen.unix_socket)
    try:
        family, type_, proto, _, sockaddr = socket.getaddrinfo(
            listen.address, listen.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, type_, proto)
    except OSError as exc:
        raise ConfigError(
            f"cannot listen on {listen.address}:{listen.port}: {(exc.strerror or str(exc)).lower()}"
        ) from None
    try:
        if listen.port != 0:
            # SO_REUSEPORT would let us join another proxy's group on this port:
            # bind once without it, so a port in use is an error as without workers.
            with socket.socket(family, type_, proto) as probe:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                probe.bind(sockaddr)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(sockaddr)
    except OSError as exc:
        sock.close()
        raise ConfigError(
            f"cannot listen on {listen.address}:{listen.port}: {(exc.strerror or str(exc)).lower()}"
        ) from None
    sockname = sock.getsockname()
    resolved = ListenConfig(address=listen.address, port=sockname[1], unix_socket=None)
    return sock, resolved, format_address(sockname)


def run_workers(
    count: int, listen: ListenConfig, *, worker: Worker, announce: Callable[[str], None]
) -> int:
    """Fork `count` workers, announce the address once they all listen, supervise them."""
    sock, resolved, address = bind_listener(listen)
    shared = sock if listen.unix_socket is not None else None
    old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
    pids: list[int] = []
    try:
        for index in range(count):
            read_fd, write_fd = os.pipe()
            pid = os.fork()
            if pid == 0:  # the worker
                os.close(read_fd)
                code = 1
                try:
                    _become_worker(old_mask)
                    code = worker(WorkerListener(
                        listen=resolved, sock=shared, ready_fd=write_fd, index=index))
                except BaseException:
                    log.exception("worker %d failed", os.getpid())
                finally:
                    os._exit(code)
            os.close(write_fd)
            pids.append(pid)
            if not _wait_ready(read_fd):
                log.error("a worker exited before it listened")
                return _shutdown(pids, code=1)
        announce(address)
        return _supervise(pids)
    finally:
        sock.close()
        signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)


def _become_worker(old_mask: set[int | signal.Signals]) -> None:
    """Own process group (a terminal's Ctrl-C reaches the parent only, which forwards it);
    die with the parent."""
    parent = os.getppid()
    os.setpgid(0, 0)
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM))
    if os.getppid() != parent:
        os._exit(1)
    signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)


def _wait_ready(read_fd: int) -> bool:
    try:
        readable, _, _ = select.select([read_fd], [], [], READY_TIMEOUT_SECONDS)
        return bool(readable) and os.read(read_fd, 1) == b"1"
    finally:
        os.close(read_fd)


def _supervise(pids: list[int]) -> int:
    """Wait for a signal to forward or a worker to end; a worker ending alone is a failure."""
    live = set(pids)
    failed = False
    stopping = False
    while live:
        info = signal.sigwaitinfo(_SIGNALS)
        if info.si_signo in (signal.SIGINT, signal.SIGTERM):
            if stopping:  # a second signal: at once
                _signal_all(live, signal.SIGKILL)
                return 128 + info.si_signo
            stopping = True
            name = signal.Signals(info.si_signo).name
            log.info("%s received: stopping %d workers", name, len(live))
            _signal_all(live, signal.SIGTERM)
            continue
        for pid, status in _reap(live):
            live.discard(pid)
            if os.waitstatus_to_exitcode(status) != 0 or not stopping:
                log.error("worker %d exited with %d", pid, os.waitstatus_to_exitcode(status))
                failed = True
            if not stopping:
                stopping = True
                _signal_all(live, signal.SIGTERM)
    return 1 if failed else 0


def _reap(live: set[int]) -> list[tuple[int, int]]:
    reaped = []
    for pid in list(live):
        with contextlib.suppress(ChildProcessError):
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                reaped.append((pid, status))
    return reaped


def _signal_all(pids: set[int], signum: signal.Signals) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)


def _shutdown(pids: list[int], *, code: int) -> int:
    """Stop the workers started so far (SIGTERM, then SIGKILL after a grace period)."""
    live = set(pids)
    _signal_all(live, signal.SIGTERM)
    deadline = time.monotonic() + 10.0
    while live and time.monotonic() < deadline:
        for pid, _ in _reap(live):
            live.discard(pid)
        time.sleep(0.05)
    _signal_all(live, signal.SIGKILL)
    for pid in live:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
    return code
