"""In a pod: no kubeconfig, the service account's token and CA, the token rotated by the kubelet."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from proxy.config import KubeconfigSource
from proxy.errors import KubeconfigError
from proxy.routing.target import select_context
from proxy.testing import FakeAPIServer
from tests.integration.conftest import StartProxy


def service_account(api: FakeAPIServer, folder: Path, token: str) -> Path:
    folder.mkdir(parents=True)
    (folder / "token").write_text(token)
    (folder / "ca.crt").write_bytes(api.ca_pem)
    (folder / "namespace").write_text("apps")
    return folder


def pod_source(api: FakeAPIServer, folder: Path, **fields: object) -> KubeconfigSource:
    return KubeconfigSource(
        home_path=folder / "no-such-kubeconfig",
        service_host="127.0.0.1",
        service_port=str(api.port),
        service_account_dir=folder,
        **fields,  # type: ignore[arg-type]
    )


async def test_sidecar_uses_the_service_account_without_a_kubeconfig(
    apiserver: FakeAPIServer,
    start_proxy: StartProxy,
    client: aiohttp.ClientSession,
    tmp_path: Path,
) -> None:
    apiserver.add_token("projected-1", "system:serviceaccount:apps:app")
    apiserver.add_token("projected-2", "system:serviceaccount:apps:app")
    folder = service_account(apiserver, tmp_path / "sa", "projected-1")
    proxy = await start_proxy(None, source=pod_source(apiserver, folder))
    # The app in the pod calls localhost with no credential of its own.
    async with client.get(f"{proxy.url}/api/v1/namespaces/apps/configmaps") as response:
        assert response.status in (200, 404)
    assert apiserver.requests[-1].user == "system:serviceaccount:apps:app"
    # The kubelet rotates the projected token; the old one stops working.
    (folder / "token").write_text("projected-2")
    apiserver.remove_token("projected-1")
    async with client.get(f"{proxy.url}/api/v1/namespaces") as response:
        assert response.status == 200
    assert apiserver.requests[-1].headers["Authorization"] == "Bearer projected-2"


def test_in_cluster_context_reads_the_service_account(
    apiserver: FakeAPIServer, tmp_path: Path
) -> None:
    folder = service_account(apiserver, tmp_path / "sa", "t")
    context = select_context(pod_source(apiserver, folder))
    assert context.cluster.server == f"https://127.0.0.1:{apiserver.port}"
    assert context.cluster.certificate_authority == folder / "ca.crt"
    assert context.user.token_file == folder / "token"
    assert context.namespace == "apps"


def test_kubeconfig_wins_unless_in_cluster_is_asked(
    apiserver: FakeAPIServer, tmp_path: Path
) -> None:
    folder = service_account(apiserver, tmp_path / "sa", "t")
    kubeconfig = apiserver.kubeconfig(tmp_path / "k")
    source = pod_source(apiserver, folder)
    assert (
        select_context(
            KubeconfigSource(
                explicit_path=kubeconfig,
                service_host="127.0.0.1",
                service_port="1",
                service_account_dir=folder,
            )
        ).cluster.name
        == "fake"
    )
    assert select_context(pod_source(apiserver, folder, in_cluster=True)).cluster.name == (
        "in-cluster"
    )
    assert select_context(source).cluster.name == "in-cluster"


def test_in_cluster_outside_a_pod_says_so(tmp_path: Path) -> None:
    with pytest.raises(KubeconfigError, match="KUBERNETES_SERVICE_HOST"):
        select_context(KubeconfigSource(in_cluster=True, service_account_dir=tmp_path))


def test_no_token_mounted_says_so(apiserver: FakeAPIServer, tmp_path: Path) -> None:
    with pytest.raises(KubeconfigError, match="automountServiceAccountToken"):
        select_context(pod_source(apiserver, tmp_path, in_cluster=True))
