"""kubectl pointed at the proxy (`--server http://127.0.0.1:PORT`), with no credentials."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from proxy.testing import FakeAPIServer
from tests.e2e.conftest import KUBECTL, ProxyProcess, SpawnProxy, kubectl, need_kubectl, run


@pytest.fixture
async def proxy(admin_kubeconfig: Path, spawn_proxy: SpawnProxy) -> ProxyProcess:
    need_kubectl()
    return await spawn_proxy("--kubeconfig", str(admin_kubeconfig))


async def test_kubectl_create_get_list_delete(
    apiserver: FakeAPIServer, proxy: ProxyProcess
) -> None:
    code, out, err = await run(
        *kubectl(
            proxy, "create", "configmap", "settings", "-n", "default", "--from-literal=mode=fast"
        )
    )
    assert code == 0, err
    code, out, err = await run(
        *kubectl(proxy, "get", "configmap", "settings", "-n", "default", "-o", "json")
    )
    assert code == 0, err
    assert json.loads(out)["data"] == {"mode": "fast"}
    code, out, err = await run(*kubectl(proxy, "get", "configmaps", "-n", "default"))
    assert code == 0, err
    assert "settings" in out
    code, out, err = await run(*kubectl(proxy, "delete", "configmap", "settings", "-n", "default"))
    assert code == 0, err
    assert "deleted" in out
    # kubectl sent no credential; the proxy's reached the API server on every request.
    assert all(r.user == "admin" for r in apiserver.requests)


async def test_kubectl_apply_twice(proxy: ProxyProcess, tmp_path: Path) -> None:
    manifest = tmp_path / "cm.yaml"
    manifest.write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: applied\n  namespace: default\n"
        "data:\n  a: '1'\n"
    )
    for expected in ("created", "configured"):
        if expected == "configured":
            manifest.write_text(manifest.read_text().replace("'1'", "'2'"))
        code, out, err = await run(*kubectl(proxy, "apply", "-f", str(manifest)))
        assert code == 0, err
        assert expected in out


async def test_kubectl_get_watch_receives_an_event(
    apiserver: FakeAPIServer, proxy: ProxyProcess
) -> None:
    watcher = await asyncio.create_subprocess_exec(
        *kubectl(proxy, "get", "configmaps", "-n", "default", "-w", "--output-watch-events"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert watcher.stdout is not None
    try:
        # kubectl lists, then watches: wait until its watch is open at the API server.
        async with asyncio.timeout(20):
            await apiserver.wait_open_streams(1)
        code, _, err = await run(
            *kubectl(proxy, "create", "configmap", "seen-by-watch", "-n", "default")
        )
        assert code == 0, err
        async with asyncio.timeout(20):
            while b"seen-by-watch" not in (line := await watcher.stdout.readline()):
                assert line, "kubectl get -w ended before printing the new configmap"
        assert b"ADDED" in line
    finally:
        watcher.kill()
        await watcher.wait()


async def test_kubectl_exec_is_refused_by_default(
    apiserver: FakeAPIServer, proxy: ProxyProcess
) -> None:
    code, _, _ = await run(
        KUBECTL, "--server", proxy.url, "exec", "-n", "default", "web", "--", "id", timeout=30
    )
    assert code != 0
    assert not any("/exec" in r.raw_path for r in apiserver.requests)
