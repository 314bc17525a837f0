"""The proxy in-process on a loopback port, in front of the fake API server over TLS."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from proxy.config import (
    CredentialConfig,
    KubeconfigSource,
    LimitsConfig,
    ListenConfig,
    OperationsConfig,
    ProxyConfig,
    SecurityConfig,
    ServeConfig,
)
from proxy.serving.guards import Guards
from proxy.serving.root import Proxy, compose
from proxy.serving.server import ProxyServer
from tests.conftest import ADMIN_TOKEN, UPSTREAM_H2, eventually

__all__ = ["ADMIN_TOKEN", "RunningProxy", "StartProxy", "eventually", "raw_request"]


@dataclasses.dataclass
class RunningProxy:
    server: ProxyServer
    url: str
    port: int
    guards: Guards | None = None
    app: web.Application | None = None
    # With `operations=OperationsConfig(health_port=0)`: the health listener's URL.
    health_url: str | None = None


StartProxy = Callable[..., Awaitable[RunningProxy]]

# Tests reload by calling the reloader: a poller of the kubeconfig would race them.
TEST_OPERATIONS = OperationsConfig(reload=False)


@pytest.fixture
async def start_proxy() -> AsyncIterator[StartProxy]:
    """Start proxies on ephemeral loopback ports, wired by the composition root as `run`
    wires them (serving/root.py); all are stopped at teardown."""
    running: list[Proxy] = []

    async def start(
        kubeconfig: Path | None,
        *,
        listen: ListenConfig | None = None,
        context: str | None = None,
        source: KubeconfigSource | None = None,
        credentials: CredentialConfig | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        security: SecurityConfig | None = None,
        limits: LimitsConfig | None = None,
        operations: OperationsConfig | None = None,
        all_contexts: bool = False,
        **serve: Any,
    ) -> RunningProxy:
        if UPSTREAM_H2:
            serve.setdefault("upstream_protocol", "http2")
        config = ProxyConfig(
            listen=listen or ListenConfig(port=0),
            serve=ServeConfig(**serve),
            kubeconfig=source or KubeconfigSource(explicit_path=kubeconfig, context=context),
            credentials=credentials or CredentialConfig(),
            security=security or SecurityConfig(),
            limits=limits or LimitsConfig(),
            operations=dataclasses.replace(operations or TEST_OPERATIONS,
                                           all_contexts=all_contexts),
        )
        proxy = compose(config, clock=clock, wall=wall)
        running.append(proxy)
        await proxy.start()
        assert proxy.server is not None and proxy.app is not None
        scheme = "https" if proxy.guards.listener_tls is not None else "http"
        health = proxy.health
        return RunningProxy(
            server=proxy.server,
            url=f"{scheme}://127.0.0.1:{proxy.server.port}",
            port=proxy.server.port,
            guards=proxy.guards,
            app=proxy.app,
            health_url=f"http://127.0.0.1:{health.port}" if health is not None else None,
        )

    yield start
    for proxy in running:
        await proxy.stop()


@pytest.fixture
async def proxy(start_proxy: StartProxy, admin_kubeconfig: Path) -> RunningProxy:
    return await start_proxy(admin_kubeconfig)


@pytest.fixture
async def client() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def raw_request(port: int, request: bytes, *, timeout: float = 5.0) -> tuple[int, bytes]:
    """Send bytes exactly as written (no client-side URL normalising); status and body back.

    The answer is read by its Content-Length (or to EOF without one), so a proxy
    that answers before the client finished sending is not waited out.
    """
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        await writer.drain()
        async with asyncio.timeout(timeout):
            head = await reader.readuntil(b"\r\n\r\n")
            lengths = [
                int(line.split(b":", 1)[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            ]
            body = await (reader.readexactly(lengths[0]) if lengths else reader.read())
    finally:
        writer.close()
    return int(head.split(b" ", 2)[1]), body
