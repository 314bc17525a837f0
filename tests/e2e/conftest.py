"""`python -m proxy` as a real process, in front of the fake API server, driven by real clients."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import UPSTREAM_H2

BANNER = re.compile(r"^Starting to serve on (\S+)")
KUBECTL = "/usr/bin/kubectl"

# With the fake API server speaking HTTP/2 (KUBE_AUTH_PROXY_TEST_UPSTREAM=h2), every spawned
# proxy sends everything over it, as the in-process ones do.
UPSTREAM_PROTOCOL = {"KUBE_AUTH_PROXY_UPSTREAM_PROTOCOL": "http2"} if UPSTREAM_H2 else {}


@dataclass
class ProxyProcess:
    process: asyncio.subprocess.Process
    banner: str
    address: str

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    @property
    def port(self) -> int:
        return int(self.address.rsplit(":", 1)[1])

    def peak_rss_kib(self) -> int:
        """The process's peak resident memory (VmHWM), from /proc."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
        raise AssertionError("no VmHWM in /proc status")

    async def stop(self) -> tuple[int, str]:
        """SIGTERM, as systemd or the kubelet would; the exit code and what it logged."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(self.process.wait(), 15)
        assert self.process.stderr is not None
        logged = (await self.process.stderr.read()).decode(errors="replace")
        return self.process.returncode or 0, logged


SpawnProxy = Callable[..., Awaitable[ProxyProcess]]


@pytest.fixture
async def spawn_proxy() -> AsyncIterator[SpawnProxy]:
    """Run `python -m proxy ARGS --port 0`; wait for the banner; SIGTERM at teardown."""
    started: list[ProxyProcess] = []

    async def spawn(*args: str, env: dict[str, str] | None = None) -> ProxyProcess:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "proxy",
            "--port",
            "0",
            *args,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **UPSTREAM_PROTOCOL, **(env or {})},
        )
        assert process.stdout is not None and process.stderr is not None
        line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
        match = BANNER.match(line)
        if match is None:
            await process.wait()
            error = (await process.stderr.read()).decode()
            raise AssertionError(f"no banner; stdout {line!r}; stderr {error}")
        proxy = ProxyProcess(process=process, banner=line.strip(), address=match.group(1))
        started.append(proxy)
        return proxy

    yield spawn
    for proxy in started:
        with contextlib.suppress(ProcessLookupError):
            await proxy.stop()


async def run(*argv: str, timeout: float = 60, stdin: bytes | None = None) -> tuple[int, str, str]:
    """Run a client command, bounded in time; exit code, stdout and stderr."""
    process = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(stdin), timeout)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    return process.returncode or 0, out.decode(), err.decode()


def kubectl(proxy: ProxyProcess, *args: str) -> tuple[str, ...]:
    """kubectl pointed at the proxy, with no credentials of its own."""
    return (KUBECTL, "--server", proxy.url, "--request-timeout=20s", *args)


def need_kubectl() -> None:
    if not os.access(KUBECTL, os.X_OK):
        pytest.skip(f"{KUBECTL} is not installed; the kubectl end-to-end tests need it")
