"""Authorization in the proxy: SubjectAccessReview against the API server's RBAC, or a policy."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from proxy.config import SecurityConfig
from proxy.testing import FakeAPIServer
from proxy.testing.rbac import RBAC, Grant
from tests.conftest import ADMIN_TOKEN
from tests.integration.conftest import RunningProxy, StartProxy

POLICY = Path(__file__).parent.parent.parent / "config" / "policy.example.yaml"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def rbac_apiserver() -> AsyncIterator[FakeAPIServer]:
    rbac = RBAC(
        [
            Grant(verbs=("*",), users=("admin",)),
            Grant(
                verbs=("get", "list", "watch"),
                users=("viewer",),
                resources=("configmaps",),
                namespaces=("default",),
            ),
        ]
    )
    api = FakeAPIServer(tokens={ADMIN_TOKEN: "admin", "viewer-token": "viewer"}, rbac=rbac)
    await api.start()
    yield api
    await api.stop()


async def test_subject_access_review_allows_and_denies(
    rbac_apiserver: FakeAPIServer,
    start_proxy: StartProxy,
    client: aiohttp.ClientSession,
    tmp_path: Path,
) -> None:
    api = rbac_apiserver
    proxy = await start_proxy(
        api.kubeconfig(tmp_path / "k"),
        security=SecurityConfig(authn="tokenreview", authz="subjectaccessreview"),
    )
    allowed = f"{proxy.url}/api/v1/namespaces/default/configmaps"
    async with client.get(allowed, headers=bearer("viewer-token")) as response:
        assert response.status == 200
    before = len(api.requests)
    denied = f"{proxy.url}/api/v1/namespaces/kube-system/secrets"
    async with client.get(denied, headers=bearer("viewer-token")) as response:
        assert response.status == 403
        body = await response.json()
    assert body["kind"] == "Status"
    assert body["message"] == (
        'User "viewer" cannot list resource "secrets" in API group "" '
        'in the namespace "kube-system"'
    )
    assert not any("/secrets" in r.raw_path for r in api.requests[before:]), (
        "a denied request never reaches the API server"
    )
    rbac = api.rbac
    assert rbac is not None
    reviews = rbac.reviews
    async with client.get(allowed, headers=bearer("viewer-token")) as response:
        assert response.status == 200
    async with client.get(denied, headers=bearer("viewer-token")) as response:
        assert response.status == 403
    assert rbac.reviews == reviews, "allow and deny answers are cached"


@pytest.fixture
async def read_only(
    apiserver: FakeAPIServer, start_proxy: StartProxy, admin_kubeconfig: Path
) -> RunningProxy:
    apiserver.add_token("reader-token", "reader")
    return await start_proxy(
        admin_kubeconfig, security=SecurityConfig(authn="tokenreview", policy=POLICY)
    )


@pytest.mark.parametrize(
    ("method", "path", "code"),
    [
        pytest.param("GET", "/api/v1/namespaces/default/configmaps", 200, id="list"),
        pytest.param(
            "GET", "/api/v1/namespaces/default/configmaps?watch=1&timeoutSeconds=1", 200, id="watch"
        ),
        pytest.param("GET", "/version", 200, id="non-resource get"),
        pytest.param("DELETE", "/api/v1/namespaces/default/configmaps/x", 403, id="delete"),
        pytest.param("POST", "/api/v1/namespaces/default/configmaps", 403, id="create"),
        pytest.param("GET", "/api/v1/namespaces/default/secrets", 403, id="secrets"),
    ],
)
async def test_read_only_scope_from_the_policy_file(
    read_only: RunningProxy, client: aiohttp.ClientSession, method: str, path: str, code: int
) -> None:
    async with client.request(
        method,
        f"{read_only.url}{path}",
        headers=bearer("reader-token"),
        json={} if method == "POST" else None,
    ) as response:
        assert response.status == code, await response.text()
        await response.read()
