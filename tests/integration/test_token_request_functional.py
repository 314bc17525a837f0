"""--token-request: the kubeconfig identity only asks for a service-account token; it acts."""

from __future__ import annotations

import time
from pathlib import Path

import aiohttp
import pytest

from proxy.config import CredentialConfig
from proxy.errors import ConfigError
from proxy.testing import FakeAPIServer
from tests.conftest import FakeClock
from tests.integration.conftest import StartProxy

# The API server issues tokens only for service accounts that exist.
ROBOT = {"metadata": {"name": "robot"}}


async def test_requests_carry_the_service_account_token(
    apiserver: FakeAPIServer,
    start_proxy: StartProxy,
    client: aiohttp.ClientSession,
    admin_kubeconfig: Path,
) -> None:
    apiserver.store.create("serviceaccounts", ROBOT, namespace="default")
    proxy = await start_proxy(
        admin_kubeconfig,
        credentials=CredentialConfig(
            token_request="default/robot", token_audiences=("https://kubernetes.default.svc",)
        ),
    )
    async with client.get(f"{proxy.url}/api/v1/namespaces") as response:
        assert response.status == 200
    assert apiserver.requests[-1].user == "system:serviceaccount:default:robot"
    assert apiserver.token_issuer.requests == [("admin", "default/robot")]
    token = apiserver.requests[-1].headers["Authorization"].removeprefix("Bearer ")
    assert apiserver.token_issuer.issued[token].audiences == ("https://kubernetes.default.svc",)


async def test_renewed_at_80_percent_of_the_granted_life(
    start_proxy: StartProxy, client: aiohttp.ClientSession, tmp_path: Path
) -> None:
    # The server grants 20 minutes although an hour was asked: its answer is what counts.
    async with FakeAPIServer(max_token_expiration=1200) as api:
        api.store.create("serviceaccounts", ROBOT, namespace="default")
        wall = FakeClock(start=time.time())
        proxy = await start_proxy(
            api.kubeconfig(tmp_path / "k"),
            wall=wall,
            credentials=CredentialConfig(token_request="default/robot"),
        )
        for advance in (0, 900, 80):  # 0 s, 900 s (75%), 980 s (past 80% of 1200 s)
            wall.advance(advance)
            async with client.get(f"{proxy.url}/api/v1/namespaces") as response:
                assert response.status == 200
            if advance == 900:
                assert len(api.token_issuer.requests) == 1
        assert len(api.token_issuer.requests) == 2


async def test_refused_token_request_is_a_502_naming_it(
    apiserver: FakeAPIServer,
    start_proxy: StartProxy,
    client: aiohttp.ClientSession,
    admin_kubeconfig: Path,
) -> None:
    proxy = await start_proxy(
        admin_kubeconfig, credentials=CredentialConfig(token_request="nowhere/robot")
    )
    async with client.get(f"{proxy.url}/api/v1/namespaces") as response:
        assert response.status == 502
        body = await response.json()
    assert "TokenRequest for service account nowhere/robot was refused: 404" in body["message"]


@pytest.mark.parametrize("value", ["robot", "/robot", "ns/", "a/b/c"])
async def test_malformed_token_request_flag(
    start_proxy: StartProxy, admin_kubeconfig: Path, value: str
) -> None:
    with pytest.raises(ConfigError, match="NAMESPACE/SERVICEACCOUNT"):
        await start_proxy(admin_kubeconfig, credentials=CredentialConfig(token_request=value))


async def test_impersonation_flags_override_the_kubeconfig(
    apiserver: FakeAPIServer,
    start_proxy: StartProxy,
    client: aiohttp.ClientSession,
    admin_kubeconfig: Path,
) -> None:
    proxy = await start_proxy(
        admin_kubeconfig,
        credentials=CredentialConfig(
            impersonate_user="jane", impersonate_groups=("qa", "ops"), impersonate_uid="42"
        ),
    )
    async with client.get(f"{proxy.url}/api/v1/namespaces") as response:
        assert response.status == 200
    seen = apiserver.requests[-1].headers
    assert seen["Impersonate-User"] == "jane"
    assert seen.getall("Impersonate-Group") == ["qa", "ops"]
    assert seen["Impersonate-Uid"] == "42"
