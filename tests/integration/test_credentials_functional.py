"""Each kubeconfig credential kind reaches the API server; the client's own never does."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest
import yaml

from proxy.testing import FakeAPIServer
from tests.integration.conftest import ADMIN_TOKEN, RunningProxy, StartProxy


async def list_namespaces(client: aiohttp.ClientSession, proxy: RunningProxy) -> dict[str, object]:
    async with client.get(f"{proxy.url}/api/v1/namespaces") as response:
        assert response.status == 200, await response.text()
        body: dict[str, object] = await response.json()
        return body


async def test_token_user_injected(
    apiserver: FakeAPIServer, proxy: RunningProxy, client: aiohttp.ClientSession
) -> None:
    body = await list_namespaces(client, proxy)
    assert body["kind"] == "NamespaceList"
    seen = apiserver.requests[-1]
    assert seen.headers["Authorization"] == f"Bearer {ADMIN_TOKEN}"
    assert seen.user == "admin"


async def test_token_file_user_injected(
    apiserver: FakeAPIServer,
    start_proxy: StartProxy,
    client: aiohttp.ClientSession,
    tmp_path: Path,
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(ADMIN_TOKEN + "\n")
    proxy = await start_proxy(apiserver.kubeconfig(tmp_path / "k", token_file=token_file))
    await list_namespaces(client, proxy)
    assert apiserver.requests[-1].headers["Authorization"] == f"Bearer {ADMIN_TOKEN}"


async def test_basic_auth_user_injected(
    apiserver: FakeAPIServer,
    start_proxy: StartProxy,
    client: aiohttp.ClientSession,
    tmp_path: Path,
) -> None:
    kubeconfig = apiserver.kubeconfig(tmp_path / "k", username="bob", password="bob-password")
    proxy = await start_proxy(kubeconfig)
    await list_namespaces(client, proxy)
    assert apiserver.requests[-1].user == "bob"


@pytest.mark.client_cert_at_the_fake
async def test_client_certificate_user_presented(
    apiserver: FakeAPIServer,
    start_proxy: StartProxy,
    client: aiohttp.ClientSession,
    tmp_path: Path,
) -> None:
    leaf = apiserver.issue_client_cert("carol", groups=["devs"])
    kubeconfig = apiserver.kubeconfig(
        tmp_path / "k",
        client_cert_pem=leaf.cert_chain_pems[0].bytes(),
        client_key_pem=leaf.private_key_pem.bytes(),
    )
    proxy = await start_proxy(kubeconfig)
    await list_namespaces(client, proxy)
    seen = apiserver.requests[-1]
    assert seen.user == "carol"
    assert "Authorization" not in seen.headers


async def test_client_authorization_and_impersonation_never_forwarded(
    apiserver: FakeAPIServer, proxy: RunningProxy, client: aiohttp.ClientSession
) -> None:
    smuggled = {
        "Authorization": "Bearer client-supplied",
        "Impersonate-User": "system:admin",
        "Impersonate-Group": "system:masters",
        "Impersonate-Extra-Scopes": "everything",
        "X-Remote-User": "root",
    }
    async with client.get(f"{proxy.url}/api/v1/namespaces", headers=smuggled) as response:
        assert response.status == 200
    seen = apiserver.requests[-1].headers
    assert seen["Authorization"] == f"Bearer {ADMIN_TOKEN}"
    assert seen.getall("Authorization") == [f"Bearer {ADMIN_TOKEN}"]
    assert not [name for name in seen if name.lower().startswith(("impersonate-", "x-remote-"))]


async def test_kubeconfig_impersonation_becomes_headers(
    apiserver: FakeAPIServer,
    start_proxy: StartProxy,
    client: aiohttp.ClientSession,
    tmp_path: Path,
) -> None:
    path = apiserver.kubeconfig(tmp_path / "k", token=ADMIN_TOKEN)
    document = yaml.safe_load(path.read_text())
    document["users"][0]["user"].update({"as": "jane", "as-groups": ["qa", "ops"]})
    path.write_text(yaml.safe_dump(document))
    proxy = await start_proxy(path)
    await list_namespaces(client, proxy)
    seen = apiserver.requests[-1].headers
    assert seen["Impersonate-User"] == "jane"
    assert seen.getall("Impersonate-Group") == ["qa", "ops"]


async def test_upstream_401_passes_through_unchanged(
    apiserver: FakeAPIServer,
    start_proxy: StartProxy,
    client: aiohttp.ClientSession,
    tmp_path: Path,
) -> None:
    proxy = await start_proxy(apiserver.kubeconfig(tmp_path / "k", token="wrong-token"))
    async with client.get(f"{proxy.url}/api/v1/namespaces") as response:
        assert response.status == 401
        body = await response.json()
    assert body["kind"] == "Status" and body["reason"] == "Unauthorized"
    assert apiserver.requests[-1].user is None
