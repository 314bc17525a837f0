"""A team's shared proxy: open to the network only with callers authenticated."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import trustme

from proxy.testing import FakeAPIServer
from tests.e2e.conftest import KUBECTL, SpawnProxy, need_kubectl, run

POLICY = Path(__file__).parent.parent.parent / "config" / "policy.example.yaml"


async def test_refuses_to_start_open_on_all_addresses(admin_kubeconfig: Path) -> None:
    code, _, err = await run(
        sys.executable,
        "-m",
        "proxy",
        "--kubeconfig",
        str(admin_kubeconfig),
        "--address",
        "0.0.0.0",
        "--port",
        "0",
    )
    assert code == 1
    assert "error: --address 0.0.0.0 is reachable from other hosts" in err
    assert "Traceback" not in err


async def test_tokenreview_on_all_addresses_acting_as_the_caller(
    apiserver: FakeAPIServer, admin_kubeconfig: Path, spawn_proxy: SpawnProxy
) -> None:
    robot, _ = apiserver.token_issuer.issue(
        user="system:serviceaccount:default:robot",
        groups=("system:serviceaccounts",),
        audiences=("https://kubernetes.default.svc.cluster.local",),
        seconds=3600,
    )
    proxy = await spawn_proxy(
        "--kubeconfig",
        str(admin_kubeconfig),
        "--address",
        "0.0.0.0",
        "--authn",
        "tokenreview",
        "--forward-as",
        "caller",
        "--accept-hosts",
        "^127\\.0\\.0\\.1$",
    )
    url = f"http://127.0.0.1:{proxy.port}/api/v1/namespaces"
    code, out, _ = await run("curl", "-s", "-H", f"Authorization: Bearer {robot}", url)
    assert code == 0
    assert json.loads(out)["kind"] == "NamespaceList"
    assert apiserver.requests[-1].user == "system:serviceaccount:default:robot"
    for headers in ([], ["-H", "Authorization: Bearer wrong"]):
        _, out, _ = await run(
            "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", *headers, url
        )
        assert out == "401"


async def test_read_only_policy_with_kubectl_over_tls(
    apiserver: FakeAPIServer, admin_kubeconfig: Path, spawn_proxy: SpawnProxy, tmp_path: Path
) -> None:
    need_kubectl()
    apiserver.add_token("reader-token", "reader")
    apiserver.store.create("configmaps", {"metadata": {"name": "keep-me"}}, namespace="default")
    # kubectl sends a bearer token only over https: a shared proxy serves TLS.
    ca = trustme.CA()
    leaf = ca.issue_cert("127.0.0.1")
    cert, key, ca_file = tmp_path / "tls.crt", tmp_path / "tls.key", tmp_path / "ca.crt"
    cert.write_bytes(leaf.cert_chain_pems[0].bytes())
    key.write_bytes(leaf.private_key_pem.bytes())
    ca_file.write_bytes(ca.cert_pem.bytes())
    proxy = await spawn_proxy(
        "--kubeconfig",
        str(admin_kubeconfig),
        "--authn",
        "tokenreview",
        "--policy",
        str(POLICY),
        "--tls-cert-file",
        str(cert),
        "--tls-private-key-file",
        str(key),
    )
    reader = (
        KUBECTL,
        "--server",
        f"https://127.0.0.1:{proxy.port}",
        "--certificate-authority",
        str(ca_file),
        "--token",
        "reader-token",
        "--request-timeout=20s",
    )
    code, out, err = await run(*reader, "get", "configmaps", "-n", "default")
    assert code == 0, err
    assert "keep-me" in out
    code, _, err = await run(*reader, "delete", "configmap", "keep-me", "-n", "default")
    assert code != 0
    assert "forbidden" in err.lower()
    assert apiserver.store.get("configmaps", "keep-me", namespace="default")
