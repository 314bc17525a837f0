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
    SecurityConfig,
    ServeConfig,
)
from proxy.routing.target import build_target
from proxy.routing.target_set import LiveTargets, Targets, build_targets
from proxy.serving.app import build_app
from proxy.serving.guards import Guards, build_guards
from proxy.serving.server import ProxyServer
from tests.conftest import ADMIN_TOKEN, eventually

__all__ = ["ADMIN_TOKEN", "RunningProxy", "StartProxy", "eventually", "raw_request"]


@dataclasses.dataclass
class RunningProxy:
    server: ProxyServer
    url: str
    port: int
    guards: Guards | None = None
    app: web.Application | None = None


StartProxy = Callable[..., Awaitable[RunningProxy]]


@pytest.fixture
async def start_proxy() -> AsyncIterator[StartProxy]:
    """Start proxies on ephemeral loopback ports; all are stopped at teardown."""
    running: list[ProxyServer] = []

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
        serve_config = ServeConfig(**serve)
        kubeconfig_source = source or KubeconfigSource(explicit_path=kubeconfig, context=context)

        def targets() -> Targets:
            if all_contexts:
                return build_targets(
                    kubeconfig_source,
                    serve_config,
                    credentials or CredentialConfig(),
                    all_contexts=True,
                )
            return Targets(
                current=build_target(
                    kubeconfig_source, serve_config, credentials, clock=clock, wall=wall
                )
            )

        listen = listen or ListenConfig(port=0)
        security = security or SecurityConfig()
        live = LiveTargets(targets())
        guards = build_guards(security, listen, lambda: live.targets.current.upstream)
        tls = guards.listener_tls.context if guards.listener_tls is not None else None
        app = build_app(
            serve_config,
            live,
            security=security,
            limits=limits,
            guards=guards,
            clock=clock,
            rebuild=targets,
            operations=operations,
        )
        server = ProxyServer(
            app,
            listen,
            limits=limits,
            ssl_context=tls,
            shutdown_timeout=(operations or OperationsConfig()).shutdown_grace,
        )
        await server.start()
        running.append(server)
        scheme = "https" if tls is not None else "http"
        return RunningProxy(
            server=server,
            url=f"{scheme}://127.0.0.1:{server.port}",
            port=server.port,
            guards=guards,
            app=app,
        )

    yield start
    for server in running:
        await server.stop()


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
