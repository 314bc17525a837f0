"""Credentials that change on disk are picked up by a running proxy, without a restart."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest
import yaml

from proxy.testing import FakeAPIServer
from tests.conftest import ADMIN_TOKEN, FakeClock
from tests.integration.conftest import RunningProxy, StartProxy


async def user_seen(
    apiserver: FakeAPIServer, client: aiohttp.ClientSession, proxy: RunningProxy
) -> str | None:
    async with client.get(f"{proxy.url}/api/v1/namespaces") as response:
        assert response.status == 200, await response.text()
    return apiserver.requests[-1].user


async def test_rotated_token_file_used_after_a_minute(
    apiserver: FakeAPIServer,
    start_proxy: StartProxy,
    client: aiohttp.ClientSession,
    tmp_path: Path,
) -> None:
    apiserver.add_token("generation-2", "rotated-user")
    token_file = tmp_path / "token"
    token_file.write_text(ADMIN_TOKEN)
    clock = FakeClock()
    proxy = await start_proxy(
        apiserver.kubeconfig(tmp_path / "k", token_file=token_file), clock=clock
    )
    assert await user_seen(apiserver, client, proxy) == "admin"
    token_file.write_text("generation-2")
    assert await user_seen(apiserver, client, proxy) == "admin", "cached for a minute"
    clock.advance(61)
    assert await user_seen(apiserver, client, proxy) == "rotated-user"


async def test_revoked_token_file_reread_at_once_after_401(
    apiserver: FakeAPIServer,
    start_proxy: StartProxy,
    client: aiohttp.ClientSession,
    tmp_path: Path,
) -> None:
    apiserver.add_token("old-projected", "sa")
    apiserver.add_token("new-projected", "sa")
    token_file = tmp_path / "token"
    token_file.write_text("old-projected")
    proxy = await start_proxy(apiserver.kubeconfig(tmp_path / "k", token_file=token_file))
    assert await user_seen(apiserver, client, proxy) == "sa"
    token_file.write_text("new-projected")
    apiserver.remove_token("old-projected")
    assert await user_seen(apiserver, client, proxy) == "sa"
    assert apiserver.requests[-1].headers["Authorization"] == "Bearer new-projected"


@pytest.mark.client_cert_at_the_fake
async def test_client_certificate_replaced_on_disk(
    apiserver: FakeAPIServer,
    start_proxy: StartProxy,
    client: aiohttp.ClientSession,
    tmp_path: Path,
) -> None:
    first, second = apiserver.issue_client_cert("cert-1"), apiserver.issue_client_cert("cert-2")
    cert, key = tmp_path / "client.crt", tmp_path / "client.key"
    cert.write_bytes(first.cert_chain_pems[0].bytes())
    key.write_bytes(first.private_key_pem.bytes())
    kubeconfig = apiserver.kubeconfig(tmp_path / "k", client_cert_pem=b"x", client_key_pem=b"x")
    document = yaml.safe_load(kubeconfig.read_text())
    document["users"][0]["user"] = {"client-certificate": str(cert), "client-key": str(key)}
    kubeconfig.write_text(yaml.safe_dump(document))
    clock = FakeClock()
    proxy = await start_proxy(kubeconfig, clock=clock)
    assert await user_seen(apiserver, client, proxy) == "cert-1"
    cert.write_bytes(second.cert_chain_pems[0].bytes())
    key.write_bytes(second.private_key_pem.bytes())
    clock.advance(11)
    assert await user_seen(apiserver, client, proxy) == "cert-2"
