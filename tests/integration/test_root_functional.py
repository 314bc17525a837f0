"""The composition root as `run` uses it: the health listener, the audit log, and shutdown
closing what start-up opened (serving/root.py)."""

from __future__ import annotations

import json
import logging
import socket
from pathlib import Path

import aiohttp
import pytest

from proxy.config import (
    KubeconfigSource,
    ListenConfig,
    OperationsConfig,
    ProxyConfig,
    SecurityConfig,
)
from proxy.errors import ConfigError
from proxy.serving.root import compose
from tests.conftest import ADMIN_TOKEN
from tests.integration.conftest import StartProxy


async def test_health_port_served_beside_the_api_from_the_config(
    start_proxy: StartProxy, admin_kubeconfig: Path, client: aiohttp.ClientSession
) -> None:
    proxy = await start_proxy(admin_kubeconfig, operations=OperationsConfig(health_port=0,
                                                                            reload=False))
    assert proxy.health_url is not None and proxy.health_url != proxy.url
    async with client.get(f"{proxy.health_url}/readyz") as response:
        assert response.status == 200
    async with client.get(f"{proxy.health_url}/metrics") as response:
        assert "kube_auth_proxy_requests_total" in await response.text()
    async with client.get(f"{proxy.health_url}/api/v1/namespaces") as response:
        assert response.status == 404, "the health listener forwards nothing"


async def test_stop_closes_the_listener_the_upstreams_and_the_audit_log(
    admin_kubeconfig: Path, client: aiohttp.ClientSession, tmp_path: Path
) -> None:
    audit = logging.getLogger("proxy.audit")
    found = (audit.handlers[:], audit.propagate)
    proxy = compose(ProxyConfig(
        listen=ListenConfig(port=0),
        kubeconfig=KubeconfigSource(explicit_path=admin_kubeconfig),
        security=SecurityConfig(audit_log=tmp_path / "audit.log"),
    ))
    try:
        await proxy.start()
        assert proxy.server is not None
        port = proxy.server.port
        async with client.get(f"http://127.0.0.1:{port}/api/v1/namespaces") as response:
            assert response.status == 200
    finally:
        await proxy.stop()
    [line] = (tmp_path / "audit.log").read_text().splitlines()
    assert json.loads(line)["code"] == 200
    assert ADMIN_TOKEN not in line
    assert proxy.live.targets.current.upstream.closed
    assert (audit.handlers, audit.propagate) == found
    with pytest.raises(aiohttp.ClientConnectionError):
        await client.get(f"http://127.0.0.1:{port}/version")


async def test_failed_start_leaves_nothing_open(admin_kubeconfig: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        proxy = compose(ProxyConfig(
            listen=ListenConfig(port=taken.getsockname()[1]),
            kubeconfig=KubeconfigSource(explicit_path=admin_kubeconfig),
        ))
        with pytest.raises(ConfigError, match=r"cannot listen on 127\.0\.0\.1"):
            await proxy.start()
    assert proxy.live.targets.current.upstream.closed
    await proxy.stop()  # after a failed start: nothing left to do, and no error
