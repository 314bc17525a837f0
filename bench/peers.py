"""The things measured: kubectl proxy, kube-auth-proxy (in one or more configurations), direct.

Every proxy is started from the same kubeconfig, listens on 127.0.0.1 with port 0,
and is ready when it prints kubectl proxy's banner. Its start-up time runs from the
spawn to the first 200 it serves.
"""

from __future__ import annotations

import asyncio
import compileall
import importlib.util
import os
import re
import ssl
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from bench.children import Child, spawn, stop, wait_for_line

KUBECTL = "/usr/bin/kubectl"
BANNER = re.compile(rb"Starting to serve on (\S+)")
BANNER_TIMEOUT_SECONDS = 20.0
FIRST_REQUEST_TIMEOUT_SECONDS = 20.0
DIRECT = "direct"
KUBECTL_PROXY = "kubectl proxy"


@dataclass(frozen=True)
class PeerSpec:
    """How to start one proxy; `argv` gets the kubeconfig appended."""

    name: str
    argv: tuple[str, ...]

    def command(self, kubeconfig: Path) -> list[str]:
        return [*self.argv, "--kubeconfig", str(kubeconfig)]


def kubectl_proxy() -> PeerSpec:
    return PeerSpec(name=KUBECTL_PROXY, argv=(KUBECTL, "proxy", "--port=0"))


def compile_proxy_bytecode() -> Path:
    """Write the proxy's bytecode beside its sources, as installing a package does.

    Start-up is measured as a user meets it after installing, not as a first start
    compiling every module: this machine's environment sets PYTHONDONTWRITEBYTECODE,
    so without this each start would compile the proxy's sources again (~100 ms).
    Stale bytecode is never used: Python checks each file's size and mtime.
    """
    spec = importlib.util.find_spec("proxy")
    assert spec is not None and spec.origin is not None
    package = Path(spec.origin).parent
    compileall.compile_dir(package, quiet=1, workers=1)
    return package


def kube_auth_proxy(name: str, extra: Sequence[str] = ()) -> PeerSpec:
    return PeerSpec(name=name, argv=(sys.executable, "-m", "proxy", "--port", "0", *extra))


@dataclass
class Endpoint:
    """Where requests go: a proxy on loopback, or the upstream itself (with the token, TLS)."""

    name: str
    base_url: str
    headers: dict[str, str] = field(default_factory=dict)
    ssl_context: ssl.SSLContext | None = None
    pid: int | None = None
    startup_seconds: float | None = None
    child: Child | None = None


def direct(base_url: str, *, authorization: str, ssl_context: ssl.SSLContext) -> Endpoint:
    return Endpoint(
        name=DIRECT,
        base_url=base_url,
        headers={"Authorization": authorization},
        ssl_context=ssl_context,
    )


def child_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KUBECONFIG", "KUBERNETES_"))}
    env["HOME"] = str(home)
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


async def start(
    spec: PeerSpec, *, kubeconfig: Path, log_dir: Path, probe_path: str, tag: str
) -> Endpoint:
    """Spawn, wait for the banner, then request `probe_path` until it answers 200."""
    slug = re.sub(r"[^a-z0-9]+", "-", f"{spec.name} {tag}".lower()).strip("-")
    child = await spawn(slug, spec.command(kubeconfig), log_dir=log_dir, env=child_env(log_dir))
    try:
        match = await wait_for_line(child, BANNER, timeout=BANNER_TIMEOUT_SECONDS)
        base_url = "http://" + match.group(1).decode()
        ready_at = await first_ok(base_url + probe_path, timeout=FIRST_REQUEST_TIMEOUT_SECONDS)
    except BaseException:
        await stop(child)
        raise
    return Endpoint(
        name=spec.name,
        base_url=base_url,
        pid=child.pid,
        startup_seconds=ready_at - child.spawned_at,
        child=child,
    )


async def first_ok(url: str, *, timeout: float) -> float:
    """The monotonic time at which `url` first answered 200 (retried every 5 ms)."""
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while True:
            try:
                async with session.get(url) as response:
                    await response.read()
                    if response.status == 200:
                        return time.monotonic()
            except aiohttp.ClientError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} did not answer 200 within {timeout:g}s")
            await asyncio.sleep(0.005)


async def stop_endpoint(endpoint: Endpoint) -> None:
    if endpoint.child is not None:
        await stop(endpoint.child)
