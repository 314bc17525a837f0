"""The oidc auth-provider: refresh through the issuer, tokens written back to the kubeconfig."""

from __future__ import annotations

import base64
import copy
import logging
import os
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from proxy.config import KubeconfigSource, ServeConfig
from proxy.errors import KubeconfigError
from proxy.routing.target import build_target
from proxy.testing import FakeAPIServer
from proxy.testing.oidc import FakeOIDCIssuer
from tests.integration.conftest import StartProxy


def oidc_kubeconfig(
    api: FakeAPIServer, issuer: FakeOIDCIssuer, path: Path, id_token: str, refresh_token: str
) -> Path:
    api.kubeconfig(path, token="placeholder")
    document = yaml.safe_load(path.read_text())
    document["preferences"] = {"colors": True}
    document["users"][0]["user"] = {
        "auth-provider": {
            "name": "oidc",
            "config": {
                "idp-issuer-url": issuer.url,
                "client-id": issuer.client_id,
                "client-secret": issuer.client_secret,
                "id-token": id_token,
                "refresh-token": refresh_token,
                "idp-certificate-authority-data": base64.b64encode(api.ca_pem).decode(),
            },
        }
    }
    path.write_text(yaml.safe_dump(document))
    os.chmod(path, 0o600)
    return path


def without_tokens(document: dict[str, Any]) -> dict[str, Any]:
    document = copy.deepcopy(document)
    config = document["users"][0]["user"]["auth-provider"]["config"]
    config.pop("id-token")
    config.pop("refresh-token")
    return document


async def test_expired_id_token_refreshed_and_written_back(
    apiserver: FakeAPIServer,
    start_proxy: StartProxy,
    client: aiohttp.ClientSession,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with FakeOIDCIssuer(apiserver) as issuer:
        expired, refresh = issuer.issue("oidc:alice", lifetime=-60)
        kubeconfig = oidc_kubeconfig(apiserver, issuer, tmp_path / "k", expired, refresh)
        before = yaml.safe_load(kubeconfig.read_text())
        proxy = await start_proxy(kubeconfig)
        with caplog.at_level(logging.DEBUG):
            async with client.get(f"{proxy.url}/api/v1/namespaces") as response:
                assert response.status == 200
        assert apiserver.requests[-1].user == "oidc:alice"
        assert issuer.refreshes == 1
        # Still fresh: no second refresh.
        async with client.get(f"{proxy.url}/api/v1/namespaces") as response:
            assert response.status == 200
        assert issuer.refreshes == 1
    after = yaml.safe_load(kubeconfig.read_text())
    saved = after["users"][0]["user"]["auth-provider"]["config"]
    assert (
        saved["id-token"] != expired
        and saved["id-token"] in apiserver.requests[-1].headers["Authorization"]
    )
    assert saved["refresh-token"] != refresh, "the rotated refresh token is kept"
    assert without_tokens(after) == without_tokens(before), "the rest of the file is unchanged"
    assert oct(kubeconfig.stat().st_mode & 0o777) == "0o600"
    for secret in (expired, refresh, saved["id-token"], saved["refresh-token"]):
        assert secret not in caplog.text


async def test_valid_id_token_used_without_refresh(
    apiserver: FakeAPIServer,
    start_proxy: StartProxy,
    client: aiohttp.ClientSession,
    tmp_path: Path,
) -> None:
    async with FakeOIDCIssuer(apiserver) as issuer:
        fresh, refresh = issuer.issue("oidc:bob")
        proxy = await start_proxy(
            oidc_kubeconfig(apiserver, issuer, tmp_path / "k", fresh, refresh)
        )
        async with client.get(f"{proxy.url}/api/v1/namespaces") as response:
            assert response.status == 200
        assert issuer.refreshes == 0
        assert apiserver.requests[-1].user == "oidc:bob"


async def test_refused_refresh_is_a_502_status(
    apiserver: FakeAPIServer,
    start_proxy: StartProxy,
    client: aiohttp.ClientSession,
    tmp_path: Path,
) -> None:
    async with FakeOIDCIssuer(apiserver) as issuer:
        expired, _ = issuer.issue("oidc:carol", lifetime=-60)
        proxy = await start_proxy(
            oidc_kubeconfig(apiserver, issuer, tmp_path / "k", expired, "rt.unknown")
        )
        async with client.get(f"{proxy.url}/api/v1/namespaces") as response:
            assert response.status == 502
            body = await response.json()
    assert "token endpoint answered 400" in body["message"]
    assert "rt.unknown" not in body["message"]


@pytest.mark.parametrize("provider", ["gcp", "azure"])
def test_removed_auth_providers_point_to_their_exec_plugins(
    apiserver: FakeAPIServer, tmp_path: Path, provider: str
) -> None:
    path = apiserver.kubeconfig(tmp_path / "k")
    document = yaml.safe_load(path.read_text())
    document["users"][0]["user"] = {"auth-provider": {"name": provider, "config": {}}}
    path.write_text(yaml.safe_dump(document))
    with pytest.raises(KubeconfigError, match=r"exec plugin|kubelogin") as info:
        build_target(KubeconfigSource(explicit_path=path), ServeConfig())
    assert info.value.field == "users[name=fake].user.auth-provider.name"
