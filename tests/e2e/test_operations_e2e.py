"""The daemon's life: a config file and environment, SIGTERM with work in flight, SIGHUP."""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path

import aiohttp
import yaml

from proxy.testing import FakeAPIServer
from tests.e2e.conftest import SpawnProxy, run


async def test_sigterm_lets_requests_finish_and_closes_watches(
    apiserver: FakeAPIServer, admin_kubeconfig: Path, spawn_proxy: SpawnProxy
) -> None:
    proxy = await spawn_proxy("--kubeconfig", str(admin_kubeconfig), "--shutdown-grace", "10s")
    apiserver.slow_down("/api/v1/namespaces", 1.5)
    slow = asyncio.ensure_future(
        run("curl", "-s", "-w", "\n%{http_code}", f"{proxy.url}/api/v1/namespaces")
    )
    chunked = await asyncio.create_subprocess_exec(
        "curl",
        "-sN",
        f"{proxy.url}/api/v1/namespaces/default/configmaps?watch=1",
        stdout=asyncio.subprocess.PIPE,
    )
    async with aiohttp.ClientSession() as session:
        ws = await session.ws_connect(
            f"ws://127.0.0.1:{proxy.port}/api/v1/namespaces/default/configmaps?watch=1"
        )
        try:
            async with asyncio.timeout(10):
                while not any(r.raw_path == "/api/v1/namespaces" for r in apiserver.requests):
                    await asyncio.sleep(0.02)
                await apiserver.wait_open_streams(2)
            proxy.process.send_signal(signal.SIGTERM)
            closing = await asyncio.wait_for(ws.receive(), 10)
            assert closing.type == aiohttp.WSMsgType.CLOSE
            assert closing.data == 1001  # going away
        finally:
            await ws.close()
    code, out, _ = await slow
    assert code == 0
    body, status = out.rsplit("\n", 1)
    assert status == "200" and json.loads(body)["kind"] == "NamespaceList"
    assert await asyncio.wait_for(chunked.wait(), 10) == 0, "the watch ended as a stream ends"
    # It exits by itself after the one SIGTERM (a second one would mean "exit at once").
    assert await asyncio.wait_for(proxy.process.wait(), 15) == 0
    assert proxy.process.stderr is not None
    assert b"Traceback" not in await proxy.process.stderr.read()


async def test_config_file_and_environment(
    apiserver: FakeAPIServer, admin_kubeconfig: Path, spawn_proxy: SpawnProxy, tmp_path: Path
) -> None:
    config = tmp_path / "proxy.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "kubeconfig": str(admin_kubeconfig),
                "api-prefix": "/from-file/",
                "reject-methods": "^DELETE$",
            }
        )
    )
    proxy = await spawn_proxy(
        "--config", str(config), env={"KUBE_AUTH_PROXY_API_PREFIX": "/from-env/"}
    )
    _, out, _ = await run("curl", "-s", f"{proxy.url}/from-env/api/v1/namespaces")
    assert json.loads(out)["kind"] == "NamespaceList", "the environment overrides the file"
    _, out, _ = await run(
        "curl",
        "-s",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "-X",
        "DELETE",
        f"{proxy.url}/from-env/api/v1/namespaces/default",
    )
    assert out == "403", "the file's settings apply"


async def test_invalid_config_value_refused_naming_the_option(
    admin_kubeconfig: Path, tmp_path: Path
) -> None:
    import sys

    config = tmp_path / "proxy.yaml"
    config.write_text("port: eighty\n")
    code, _, err = await run(sys.executable, "-m", "proxy", "--config", str(config))
    assert code == 1
    assert err.startswith(f"error: --config {config}: port: invalid port 'eighty'")
    assert "Traceback" not in err


async def test_sighup_rereads_the_kubeconfig(
    apiserver: FakeAPIServer, admin_kubeconfig: Path, spawn_proxy: SpawnProxy
) -> None:
    apiserver.add_token("switched", "switched-user")
    proxy = await spawn_proxy("--kubeconfig", str(admin_kubeconfig), "--reload=false")
    document = yaml.safe_load(admin_kubeconfig.read_text())
    document["users"][0]["user"]["token"] = "switched"
    admin_kubeconfig.write_text(yaml.safe_dump(document))
    proxy.process.send_signal(signal.SIGHUP)
    async with asyncio.timeout(10):
        while True:
            await run("curl", "-s", "-o", "/dev/null", f"{proxy.url}/api/v1/namespaces")
            if apiserver.requests[-1].user == "switched-user":
                break
            await asyncio.sleep(0.05)
