"""Exec credential plugins end to end: token and certificate, renewal, 401, failures."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from proxy.testing import FakeAPIServer
from tests.conftest import FakeClock
from tests.integration.conftest import RunningProxy, StartProxy

PLUGIN = Path(__file__).parent.parent / "data" / "exec_plugin.py"


class Plugin:
    """The state folder that steers tests/data/exec_plugin.py."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir()

    def set(self, **files: object) -> None:
        for name, value in files.items():
            (self.folder / name).write_text(str(value))

    @property
    def runs(self) -> int:
        runs = self.folder / "runs"
        return len(runs.read_text().splitlines()) if runs.exists() else 0

    @property
    def exec_info(self) -> dict[str, Any]:
        info: dict[str, Any] = json.loads((self.folder / "exec_info").read_text())
        return info


@pytest.fixture
def plugin(tmp_path: Path) -> Plugin:
    return Plugin(tmp_path / "plugin")


def exec_kubeconfig(api: FakeAPIServer, path: Path, plugin: Plugin, **exec_fields: Any) -> Path:
    api.kubeconfig(path, token="placeholder")
    document = yaml.safe_load(path.read_text())
    document["users"][0]["user"] = {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1",
            "command": sys.executable,
            "args": [str(PLUGIN)],
            "env": [{"name": "PLUGIN_STATE", "value": str(plugin.folder)}],
            "interactiveMode": "IfAvailable",
            **exec_fields,
        }
    }
    path.write_text(yaml.safe_dump(document))
    return path


async def get_namespaces(client: aiohttp.ClientSession, proxy: RunningProxy) -> int:
    async with client.get(f"{proxy.url}/api/v1/namespaces") as response:
        await response.read()
        return response.status


async def test_exec_token_injected_and_cached(
    apiserver: FakeAPIServer,
    start_proxy: StartProxy,
    client: aiohttp.ClientSession,
    plugin: Plugin,
    tmp_path: Path,
) -> None:
    apiserver.add_token("exec-token-1", "exec-user")
    plugin.set(token="exec-token-1")
    proxy = await start_proxy(exec_kubeconfig(apiserver, tmp_path / "k", plugin))
    for _ in range(3):
        assert await get_namespaces(client, proxy) == 200
    assert apiserver.requests[-1].user == "exec-user"
    assert plugin.runs == 1, "no expiry: the credential is cached"
    assert plugin.exec_info["spec"] == {"interactive": False}


async def test_provide_cluster_info_passes_the_cluster(
    apiserver: FakeAPIServer,
    start_proxy: StartProxy,
    client: aiohttp.ClientSession,
    plugin: Plugin,
    tmp_path: Path,
) -> None:
    apiserver.add_token("t", "u")
    plugin.set(token="t")
    kubeconfig = exec_kubeconfig(apiserver, tmp_path / "k", plugin, provideClusterInfo=True)
    proxy = await start_proxy(kubeconfig)
    assert await get_namespaces(client, proxy) == 200
    cluster = plugin.exec_info["spec"]["cluster"]
    assert cluster["server"] == apiserver.url
    assert "certificate-authority-data" in cluster


async def test_fifty_concurrent_requests_during_a_renewal_run_the_plugin_once(
    apiserver: FakeAPIServer,
    start_proxy: StartProxy,
    client: aiohttp.ClientSession,
    plugin: Plugin,
    tmp_path: Path,
) -> None:
    apiserver.add_token("renewed", "u")
    plugin.set(token="renewed", mode="slow", delay="0.5")
    proxy = await start_proxy(exec_kubeconfig(apiserver, tmp_path / "k", plugin))
    codes = await asyncio.gather(*(get_namespaces(client, proxy) for _ in range(50)))
    assert codes == [200] * 50
    assert plugin.runs == 1


async def test_expiring_credential_renewed_before_expiry(
    apiserver: FakeAPIServer,
    start_proxy: StartProxy,
    client: aiohttp.ClientSession,
    plugin: Plugin,
    tmp_path: Path,
) -> None:
    wall = FakeClock(start=time.time())
    apiserver.add_token("first", "u")
    apiserver.add_token("second", "u")
    plugin.set(token="first", expires_in=600)
    proxy = await start_proxy(exec_kubeconfig(apiserver, tmp_path / "k", plugin), wall=wall)
    assert await get_namespaces(client, proxy) == 200
    plugin.set(token="second")
    wall.advance(500)
    assert await get_namespaces(client, proxy) == 200
    assert plugin.runs == 1, "well before expiry: still cached"
    wall.advance(80)  # within the renewal margin before the expiry
    assert await get_namespaces(client, proxy) == 200
    assert plugin.runs == 2
    assert apiserver.requests[-1].headers["Authorization"] == "Bearer second"


async def test_401_reruns_the_plugin_and_retries_once(
    apiserver: FakeAPIServer,
    start_proxy: StartProxy,
    client: aiohttp.ClientSession,
    plugin: Plugin,
    tmp_path: Path,
) -> None:
    apiserver.add_token("old", "u")
    plugin.set(token="old")
    proxy = await start_proxy(exec_kubeconfig(apiserver, tmp_path / "k", plugin))
    assert await get_namespaces(client, proxy) == 200
    apiserver.remove_token("old")  # revoked at the API server
    apiserver.add_token("new", "u")
    plugin.set(token="new")
    before = len(apiserver.requests)
    assert await get_namespaces(client, proxy) == 200
    assert plugin.runs == 2
    assert [r.user for r in apiserver.requests[before:]] == [None, "u"]


@pytest.mark.client_cert_at_the_fake
async def test_exec_client_certificate_presented(
    apiserver: FakeAPIServer,
    start_proxy: StartProxy,
    client: aiohttp.ClientSession,
    plugin: Plugin,
    tmp_path: Path,
) -> None:
    leaf = apiserver.issue_client_cert("cert-from-plugin")
    plugin.set(
        mode="cert",
        **{
            "cert.pem": leaf.cert_chain_pems[0].bytes().decode(),
            "key.pem": leaf.private_key_pem.bytes().decode(),
        },
    )
    proxy = await start_proxy(exec_kubeconfig(apiserver, tmp_path / "k", plugin))
    assert await get_namespaces(client, proxy) == 200
    assert apiserver.requests[-1].user == "cert-from-plugin"


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        pytest.param("fail", "exited with code 3; see the proxy's log", id="plugin fails"),
        pytest.param("garbage", "not an ExecCredential", id="plugin prints garbage"),
    ],
)
async def test_plugin_failure_is_a_502_status_with_secrets_masked(
    apiserver: FakeAPIServer,
    start_proxy: StartProxy,
    client: aiohttp.ClientSession,
    plugin: Plugin,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    mode: str,
    expected: str,
) -> None:
    plugin.set(mode=mode)
    proxy = await start_proxy(exec_kubeconfig(apiserver, tmp_path / "k", plugin))
    with caplog.at_level(logging.DEBUG):
        async with client.get(f"{proxy.url}/api/v1/namespaces") as response:
            assert response.status == 502
            body = await response.json()
    assert body["kind"] == "Status" and expected in body["message"]
    for secret in ("c2VjcmV0LXBheWxvYWQtdmFsdWU", "SECRET-GARBAGE-CODE"):
        assert secret not in body["message"]
        assert secret not in caplog.text
    if mode == "fail":  # stderr goes to the log only, masked
        assert "contacting the identity provider" not in body["message"]
        assert "contacting the identity provider" in caplog.text
    assert not apiserver.requests
