"""Credentials as a deployed proxy meets them: a sidecar in a pod, and logs with no secrets."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

from proxy.testing import FakeAPIServer
from tests.e2e.conftest import SpawnProxy, run

PLUGIN = Path(__file__).parent.parent / "data" / "exec_plugin.py"


async def test_sidecar_in_cluster_serves_the_app_without_credentials(
    apiserver: FakeAPIServer, spawn_proxy: SpawnProxy, tmp_path: Path
) -> None:
    folder = tmp_path / "serviceaccount"
    folder.mkdir()
    (folder / "token").write_text("projected-sa-token")
    (folder / "ca.crt").write_bytes(apiserver.ca_pem)
    (folder / "namespace").write_text("default")
    apiserver.add_token("projected-sa-token", "system:serviceaccount:default:app")
    proxy = await spawn_proxy(
        "--service-account-dir",
        str(folder),
        env={
            "KUBERNETES_SERVICE_HOST": "127.0.0.1",
            "KUBERNETES_SERVICE_PORT": str(apiserver.port),
        },
    )
    code, out, _ = await run("curl", "-s", f"{proxy.url}/api/v1/namespaces/default/configmaps")
    assert code == 0
    assert json.loads(out)["kind"] == "ConfigMapList"
    assert apiserver.requests[-1].user == "system:serviceaccount:default:app"


async def test_no_secret_in_any_log_line_at_the_highest_verbosity(
    apiserver: FakeAPIServer, spawn_proxy: SpawnProxy, tmp_path: Path
) -> None:
    secret = "exec-issued-secret-token-0123456789"
    state = tmp_path / "plugin"
    state.mkdir()
    (state / "token").write_text(secret)
    apiserver.add_token(secret, "exec-user")
    kubeconfig = apiserver.kubeconfig(tmp_path / "k")
    document = yaml.safe_load(kubeconfig.read_text())
    document["users"][0]["user"] = {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": sys.executable,
            "args": [str(PLUGIN)],
            "env": [{"name": "PLUGIN_STATE", "value": str(state)}],
        }
    }
    kubeconfig.write_text(yaml.safe_dump(document))
    proxy = await spawn_proxy("--kubeconfig", str(kubeconfig), "-v", "9")
    for path in ("/api/v1/namespaces", "/api/v1/namespaces/nope", "/version?token=" + secret):
        code, _, _ = await run(
            "curl", "-s", "-H", f"Authorization: Bearer {secret}", f"{proxy.url}{path}"
        )
        assert code == 0
    (state / "mode").write_text("fail")
    apiserver.remove_token(secret)  # a 401 makes the proxy run the (now failing) plugin
    await run("curl", "-s", f"{proxy.url}/api/v1/namespaces")
    code, logged = await proxy.stop()
    assert code == 0
    assert logged, "the highest verbosity logs something"
    assert secret not in logged
    assert "c2VjcmV0LXBheWxvYWQtdmFsdWU" not in logged
