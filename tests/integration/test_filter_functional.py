"""kubectl proxy's filter on a real socket: 403 Status for what it rejects, bypasses included."""

from __future__ import annotations

import json
from pathlib import Path

import aiohttp
import pytest

from proxy.config import FilterConfig
from proxy.testing import FakeAPIServer
from tests.integration.conftest import RunningProxy, StartProxy, raw_request


def get(path: str, host: str = "localhost") -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode()


@pytest.mark.parametrize(
    ("path", "refusal"),
    [
        pytest.param("/api/v1/namespaces/default/pods/web/exec?command=id", 403, id="exec"),
        pytest.param("/api/v1/namespaces/default/pods/web/attach", 403, id="attach"),
        # Unreadable as the API server reads it: refused before the filter (proxy/canonical.py).
        pytest.param("//api/v1/namespaces/default/pods/web/exec", 400, id="double slash"),
        pytest.param("/api/v1/namespaces/default/pods/web/./exec", 400, id="dot segment"),
        pytest.param("/x/../api/v1/namespaces/default/pods/web/exec", 400, id="dot-dot segment"),
        pytest.param("/api/v1/namespaces/default/pods/web/%65%78%65%63", 403, id="encoded letters"),
        pytest.param("/api/v1/namespaces/default/pods/web%2Fexec", 403, id="encoded slash"),
        pytest.param("/api/v1/namespaces/default/pods/web%252Fexec", 403, id="double encoding"),
    ],
)
async def test_exec_bypass_attempts_get_a_refusal_status(
    apiserver: FakeAPIServer, proxy: RunningProxy, path: str, refusal: int
) -> None:
    code, body = await raw_request(proxy.port, get(path))
    assert code == refusal
    assert json.loads(body)["kind"] == "Status"
    assert not apiserver.requests, "a rejected request must not reach the API server"


@pytest.mark.parametrize(
    ("host", "code"),
    [
        pytest.param("localhost:8001", 200, id="localhost"),
        pytest.param("127.0.0.1:8001", 200, id="ipv4 loopback"),
        pytest.param("[::1]:8001", 200, id="ipv6 loopback with port (kubectl proxy refuses it)"),
        pytest.param("attacker.example:8001", 403, id="DNS rebinding host"),
    ],
)
async def test_accept_hosts(proxy: RunningProxy, host: str, code: int) -> None:
    status, _ = await raw_request(proxy.port, get("/api/v1/namespaces", host))
    assert status == code


async def test_reject_methods_and_disable_filter(
    start_proxy: StartProxy, admin_kubeconfig: Path, client: aiohttp.ClientSession
) -> None:
    read_only = await start_proxy(
        admin_kubeconfig,
        filter=FilterConfig(
            accept_hosts=("^127",),
            accept_paths=("^.*",),
            reject_paths=(),
            reject_methods=("^DELETE$",),
        ),
    )
    async with client.delete(f"{read_only.url}/api/v1/namespaces/default") as response:
        assert response.status == 403
    open_proxy = await start_proxy(admin_kubeconfig, filter=None)
    code, _ = await raw_request(open_proxy.port, get("/api/v1/namespaces", "anything.example"))
    assert code == 200


async def test_api_prefix_is_stripped(
    apiserver: FakeAPIServer,
    start_proxy: StartProxy,
    admin_kubeconfig: Path,
    client: aiohttp.ClientSession,
) -> None:
    proxy = await start_proxy(admin_kubeconfig, api_prefix="/k8s/")
    async with client.get(f"{proxy.url}/k8s/api/v1/namespaces?limit=1") as response:
        assert response.status == 200
    assert apiserver.requests[-1].raw_path == "/api/v1/namespaces?limit=1"
    async with client.get(f"{proxy.url}/api/v1/namespaces") as response:
        assert response.status == 404
        assert (await response.json())["kind"] == "Status"


async def test_www_serves_static_files_beside_the_api(
    start_proxy: StartProxy,
    admin_kubeconfig: Path,
    client: aiohttp.ClientSession,
    tmp_path: Path,
) -> None:
    www = tmp_path / "www"
    www.mkdir()
    (www / "index.html").write_text("<h1>hello</h1>")
    proxy = await start_proxy(admin_kubeconfig, www_dir=www)
    async with client.get(f"{proxy.url}/static/index.html") as response:
        assert response.status == 200
        assert await response.text() == "<h1>hello</h1>"
    async with client.get(f"{proxy.url}/api/v1/namespaces") as response:
        assert response.status == 200
