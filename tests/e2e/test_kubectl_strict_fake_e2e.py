"""kubectl through the proxy against the strict fake: what kubectl relies on the apiserver
for (server-side apply and its conflicts, server-side field validation) passes through."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.conftest import ProxyProcess, SpawnProxy, kubectl, need_kubectl, run

MANIFEST = (
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: default\n"
    "data:\n  mode: {mode}\n"
)


@pytest.fixture
async def proxy(admin_kubeconfig: Path, spawn_proxy: SpawnProxy) -> ProxyProcess:
    need_kubectl()
    return await spawn_proxy("--kubeconfig", str(admin_kubeconfig))


async def test_kubectl_server_side_apply_conflict_needs_force(
    proxy: ProxyProcess, tmp_path: Path
) -> None:
    manifest = tmp_path / "cm.yaml"
    manifest.write_text(MANIFEST.format(name="ssa", mode="fast"))
    code, out, err = await run(*kubectl(proxy, "apply", "--server-side", "-f", str(manifest)))
    assert code == 0, err
    assert "serverside-applied" in out
    manifest.write_text(MANIFEST.format(name="ssa", mode="slow"))
    other = ("apply", "--server-side", "--field-manager=other", "-f", str(manifest))
    code, out, err = await run(*kubectl(proxy, *other))
    assert code != 0
    assert "conflict" in err.lower() and ".data.mode" in err
    code, out, err = await run(*kubectl(proxy, *other, "--force-conflicts"))
    assert code == 0, err
    code, out, err = await run(
        *kubectl(proxy, "get", "configmap", "ssa", "-n", "default", "-o", "jsonpath={.data.mode}")
    )
    assert (code, out) == (0, "slow"), err


async def test_kubectl_create_with_unknown_field_is_refused_by_the_server(
    proxy: ProxyProcess, tmp_path: Path
) -> None:
    manifest = tmp_path / "cm.yaml"
    manifest.write_text(MANIFEST.format(name="typo", mode="x") + "spec:\n  oops: 1\n")
    code, _, err = await run(*kubectl(proxy, "create", "-f", str(manifest)))
    assert code != 0
    assert 'unknown field "spec"' in err
    code, out, err = await run(
        *kubectl(proxy, "create", "--validate=false", "-f", str(manifest))
    )
    assert code == 0, err
    assert "configmap/typo created" in out
