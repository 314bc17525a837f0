"""Real clients against the fake: kubectl and the official Python client must just work."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config
from kubernetes import watch as k8s_watch

from proxy.testing import FakeAPIServer

KUBECTL = shutil.which("kubectl") or "/usr/bin/kubectl"
WAIT = 15.0
CONFIGMAP_YAML = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: demo
  labels: {{app: demo}}
data:
  greeting: {greeting}
"""

needs_kubectl = pytest.mark.skipif(not os.path.exists(KUBECTL), reason="kubectl not installed")


class Kubectl:
    """Runs kubectl against one kubeconfig with a private cache dir."""

    def __init__(self, kubeconfig: Path, cache_dir: Path) -> None:
        self.args = [KUBECTL, "--kubeconfig", str(kubeconfig), "--cache-dir", str(cache_dir)]

    async def start(self, *args: str) -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            *self.args, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )

    async def __call__(self, *args: str) -> str:
        process = await self.start(*args)
        async with asyncio.timeout(WAIT):
            stdout, stderr = await process.communicate()
        assert process.returncode == 0, stderr.decode()
        return stdout.decode()


@pytest.fixture
def kubectl(api: FakeAPIServer, tmp_path: Path) -> Kubectl:
    return Kubectl(api.kubeconfig(tmp_path / "kubeconfig"), tmp_path / "cache")


@needs_kubectl
async def test_kubectl_create_get_apply_delete(kubectl: Kubectl, tmp_path: Path) -> None:
    manifest = tmp_path / "cm.yaml"
    manifest.write_text(CONFIGMAP_YAML.format(greeting="hello"))
    assert await kubectl("create", "-f", str(manifest)) == "configmap/demo created\n"
    table = await kubectl("get", "configmaps")
    assert table.splitlines()[0].split() == ["NAME", "DATA", "AGE"]
    assert table.splitlines()[1].split()[:2] == ["demo", "1"]
    obj = json.loads(await kubectl("get", "configmap", "demo", "-o", "json"))
    assert obj["data"] == {"greeting": "hello"}
    manifest.write_text(CONFIGMAP_YAML.format(greeting="bye"))
    assert await kubectl("apply", "-f", str(manifest)) == "configmap/demo configured\n"
    assert await kubectl("apply", "-f", str(manifest)) == "configmap/demo unchanged\n"
    obj = json.loads(await kubectl("get", "cm", "demo", "-o", "json"))
    assert obj["data"] == {"greeting": "bye"}
    assert await kubectl("delete", "-f", str(manifest)) == 'configmap "demo" deleted\n'


@needs_kubectl
async def test_kubectl_get_watch_prints_new_objects(api: FakeAPIServer, kubectl: Kubectl) -> None:
    process = await kubectl.start("get", "configmaps", "--watch", "--output", "name")
    try:
        async with asyncio.timeout(WAIT):
            await api.wait_open_streams(1)
            api.store.create("configmaps", {"metadata": {"name": "watched"}}, namespace="default")
            assert process.stdout is not None
            line = await process.stdout.readline()
        assert line.decode().strip() == "configmap/watched"
    finally:
        process.kill()
        await process.wait()


def _python_client_session(kubeconfig: Path) -> dict[str, Any]:
    """Blocking: what the official client sees, run in a thread beside the server's loop."""
    with k8s_config.new_client_from_config(config_file=str(kubeconfig)) as api_client:
        core = k8s_client.CoreV1Api(api_client)
        namespaces = [ns.metadata.name for ns in core.list_namespace().items]
        core.create_namespaced_config_map(
            "default", k8s_client.V1ConfigMap(metadata=k8s_client.V1ObjectMeta(name="py"))
        )
        configmaps = [cm.metadata.name for cm in core.list_namespaced_config_map("default").items]
        events = [
            (event["type"], event["object"].metadata.name)
            for event in k8s_watch.Watch().stream(
                core.list_namespaced_config_map, "default", timeout_seconds=1
            )
        ]
    return {"namespaces": namespaces, "configmaps": configmaps, "events": events}


async def test_official_python_client(api: FakeAPIServer, tmp_path: Path) -> None:
    kubeconfig = api.kubeconfig(tmp_path / "kubeconfig")
    async with asyncio.timeout(WAIT):
        seen = await asyncio.to_thread(_python_client_session, kubeconfig)
    assert seen == {
        "namespaces": ["default", "kube-system"],
        "configmaps": ["py"],
        "events": [("ADDED", "py")],
    }


@needs_kubectl
async def test_kubectl_imperative_commands_send_protobuf_we_can_read(kubectl: Kubectl) -> None:
    assert await kubectl("create", "namespace", "team") == "namespace/team created\n"
    created = await kubectl(
        "create", "configmap", "lit", "-n", "team", "--from-literal=a=b", "-o", "json"
    )
    assert json.loads(created)["data"] == {"a": "b"}
    assert "admin" in await kubectl("auth", "whoami")
    assert await kubectl("delete", "namespace", "team") == 'namespace "team" deleted\n'
