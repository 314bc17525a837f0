"""`--workers N` and `--event-loop`: one banner, every worker serves, SIGTERM ends them all."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from proxy.testing import FakeAPIServer
from tests.e2e.conftest import SpawnProxy, run
from tests.e2e.test_deploy_e2e import free_port


def _worker_pids(parent: int) -> set[int]:
    children = Path(f"/proc/{parent}/task/{parent}/children")
    return {int(pid) for pid in children.read_text().split()}


def _alive(pids: set[int]) -> set[int]:
    return {pid for pid in pids if Path(f"/proc/{pid}").exists()}


async def test_workers_share_the_port_and_stop_on_sigterm(
    apiserver: FakeAPIServer, admin_kubeconfig: Path, spawn_proxy: SpawnProxy
) -> None:
    proxy = await spawn_proxy("--kubeconfig", str(admin_kubeconfig), "--workers", "2")
    assert proxy.banner.startswith(f"Starting to serve on 127.0.0.1:{proxy.port} ")
    workers = _worker_pids(proxy.process.pid)
    assert len(workers) == 2
    for _ in range(6):  # fresh connections, spread over the workers by the kernel
        code, out, _ = await run("curl", "-s", f"{proxy.url}/api/v1/namespaces")
        assert code == 0 and json.loads(out)["kind"] == "NamespaceList"
    code, logged = await proxy.stop()
    assert code == 0, logged
    assert "Traceback" not in logged
    assert not _alive(workers)


async def test_asyncio_event_loop_serves(admin_kubeconfig: Path, spawn_proxy: SpawnProxy) -> None:
    proxy = await spawn_proxy("--kubeconfig", str(admin_kubeconfig), "--event-loop", "asyncio")
    code, out, _ = await run("curl", "-s", f"{proxy.url}/api/v1/namespaces")
    assert code == 0 and json.loads(out)["kind"] == "NamespaceList"
    assert (await proxy.stop())[0] == 0


async def test_workers_on_a_port_in_use_is_an_error_before_forking(
    admin_kubeconfig: Path, spawn_proxy: SpawnProxy
) -> None:
    first = await spawn_proxy("--kubeconfig", str(admin_kubeconfig))
    code, _, err = await run(
        sys.executable,
        "-m",
        "proxy",
        "--kubeconfig",
        str(admin_kubeconfig),
        "--port",
        str(first.port),
        "--workers",
        "2",
    )
    assert code == 1
    assert "cannot listen" in err and "Traceback" not in err


async def test_workers_serve_the_health_port(
    admin_kubeconfig: Path, spawn_proxy: SpawnProxy
) -> None:
    health_port = free_port()
    proxy = await spawn_proxy("--kubeconfig", str(admin_kubeconfig), "--workers", "2",
                              "--health-port", str(health_port))
    for path in ("/livez", "/readyz"):
        code, out, _ = await run(
            "curl", "-s", "--retry", "20", "--retry-connrefused", "--retry-delay", "0",
            f"http://127.0.0.1:{health_port}{path}")
        assert code == 0 and out == "ok", (path, out)
    assert (await proxy.stop())[0] == 0
