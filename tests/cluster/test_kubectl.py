"""kubectl, with a kubeconfig naming only the proxy's URL, does its everyday work."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import yaml

from tests.cluster.harness import ProxyProcess, kubectl_argv
from tests.e2e.conftest import run


async def kubectl(proxy: ProxyProcess, *args: str) -> tuple[int, str, str]:
    return await run(*kubectl_argv(proxy, *args))


async def test_kubectl_creates_gets_patches_and_deletes_a_configmap(
    proxy: ProxyProcess, namespace: str
) -> None:
    name, ns = "kubectl-made", ("-n", namespace)
    code, _, err = await kubectl(proxy, "create", "configmap", name, *ns,
                                 "--from-literal=mode=fast")
    assert code == 0, err
    code, _, err = await kubectl(proxy, "patch", "configmap", name, *ns, "--type=merge",
                                 "-p", '{"data": {"mode": "slow"}}')
    assert code == 0, err
    code, _, err = await kubectl(proxy, "patch", "configmap", name, *ns,  # strategic, the default
                                 "-p", '{"metadata": {"labels": {"patched": "strategic"}}}')
    assert code == 0, err
    code, out, err = await kubectl(proxy, "get", "configmap", name, *ns, "-o", "json")
    assert code == 0, err
    got = json.loads(out)
    assert (got["data"], got["metadata"]["labels"]) == ({"mode": "slow"}, {"patched": "strategic"})
    code, out, err = await kubectl(proxy, "get", "configmaps", *ns)
    assert code == 0, err
    assert name in out.split()
    code, out, err = await kubectl(proxy, "delete", "configmap", name, *ns)
    assert code == 0, err
    assert "deleted" in out
    code, _, err = await kubectl(proxy, "get", "configmap", name, *ns)
    assert code != 0 and "NotFound" in err, err


async def test_kubectl_apply_creates_then_configures(
    proxy: ProxyProcess, namespace: str, tmp_path: Path
) -> None:
    manifest = tmp_path / "configmap.yaml"
    configmap = {"apiVersion": "v1", "kind": "ConfigMap", "data": {"version": "1"},
                 "metadata": {"name": "kubectl-applied", "namespace": namespace}}
    for version, outcome in (("1", "created"), ("2", "configured"), ("2", "unchanged")):
        configmap["data"] = {"version": version}
        manifest.write_text(yaml.safe_dump(configmap))
        code, out, err = await kubectl(proxy, "apply", "-f", str(manifest))
        assert code == 0, err
        assert outcome in out, out
    code, out, err = await kubectl(proxy, "get", "configmap", "kubectl-applied",
                                   "-n", namespace, "-o", "jsonpath={.data.version}")
    assert (code, out) == (0, "2"), err


async def apply(proxy: ProxyProcess, obj: dict[str, Any]) -> None:
    code, _, err = await run(*kubectl_argv(proxy, "apply", "-f", "-"),
                             stdin=yaml.safe_dump(obj).encode())
    assert code == 0, err


def labelled_configmap(name: str, namespace: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
        "name": name, "namespace": namespace, "labels": {"kap-e2e/scenario": "kubectl-watch"}}}


async def test_kubectl_get_watch_prints_a_configmap_created_while_watching(
    proxy: ProxyProcess, namespace: str
) -> None:
    await apply(proxy, labelled_configmap("watched-before", namespace))
    watcher = await asyncio.create_subprocess_exec(
        *kubectl_argv(proxy, "get", "configmaps", "-n", namespace, "-w",
                      "-l", "kap-e2e/scenario=kubectl-watch", "-o", "name"),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    assert watcher.stdout is not None
    try:
        # The list is printed first; the watch then follows from the list's version, so what
        # is created after this line reaches kubectl however soon its watch opens.
        async with asyncio.timeout(20):
            listed = await watcher.stdout.readline()
        assert listed.strip() == b"configmap/watched-before", listed
        await apply(proxy, labelled_configmap("watched-after", namespace))
        async with asyncio.timeout(20):
            seen = await watcher.stdout.readline()
        assert seen.strip() == b"configmap/watched-after", seen
    finally:
        watcher.kill()
        await watcher.wait()
