"""`kubectl exec` through the proxy, over WebSocket (v5.channel.k8s.io), against the fake."""

from __future__ import annotations

from pathlib import Path

import pytest

from proxy.testing import FakeAPIServer
from tests.e2e.conftest import ProxyProcess, SpawnProxy, kubectl, need_kubectl, run


@pytest.fixture
async def exec_proxy(
    apiserver: FakeAPIServer, admin_kubeconfig: Path, spawn_proxy: SpawnProxy
) -> ProxyProcess:
    need_kubectl()
    apiserver.run_pod("shell")  # bound to the fake node: its kubelet answers exec
    return await spawn_proxy("--kubeconfig", str(admin_kubeconfig), "--reject-paths=")


@pytest.fixture(autouse=True)
def websocket_remote_commands(monkeypatch: pytest.MonkeyPatch) -> None:
    """kubectl 1.32's default, stated so a developer's environment cannot turn it off."""
    monkeypatch.setenv("KUBECTL_REMOTE_COMMAND_WEBSOCKETS", "true")


async def test_kubectl_exec_prints_the_command_output(
    apiserver: FakeAPIServer, exec_proxy: ProxyProcess
) -> None:
    code, out, err = await run(*kubectl(exec_proxy, "exec", "shell", "--", "echo", "hi there"))
    assert (code, out) == (0, "hi there\n"), err
    upgrade = next(r for r in apiserver.requests if "/exec" in r.raw_path)
    assert upgrade.user == "admin"
    assert "v5.channel.k8s.io" in upgrade.headers.get("Sec-WebSocket-Protocol", "")


async def test_kubectl_exec_stdin_reaches_the_container(exec_proxy: ProxyProcess) -> None:
    stdin = b"first line\nsecond line\n"
    code, out, err = await run(
        *kubectl(exec_proxy, "exec", "-i", "shell", "--", "cat"), stdin=stdin
    )
    assert (code, out.encode()) == (0, stdin), err


async def test_kubectl_exec_exits_with_the_command_exit_code(exec_proxy: ProxyProcess) -> None:
    code, _, err = await run(*kubectl(exec_proxy, "exec", "shell", "--", "exit", "3"))
    assert code == 3, err
    assert "exit code 3" in err
