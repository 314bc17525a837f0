"""Callers authenticated by TokenReview or client certificate; who then acts upstream."""

from __future__ import annotations

import base64
import json
import ssl
from pathlib import Path

import aiohttp
import pytest
import trustme

from proxy.config import SecurityConfig
from proxy.testing import FakeAPIServer
from proxy.testing.rbac import RBAC, Grant
from tests.conftest import ADMIN_TOKEN
from tests.integration.conftest import RunningProxy, StartProxy

TOKENREVIEW = SecurityConfig(authn="tokenreview")
ROBOT = "system:serviceaccount:default:robot"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def reviews(api: FakeAPIServer) -> int:
    return sum(r.raw_path.endswith("/tokenreviews") for r in api.requests)


@pytest.fixture
async def reviewed(start_proxy: StartProxy, admin_kubeconfig: Path) -> RunningProxy:
    return await start_proxy(admin_kubeconfig, security=TOKENREVIEW)


async def test_caller_token_reviewed_and_never_forwarded(
    apiserver: FakeAPIServer, reviewed: RunningProxy, client: aiohttp.ClientSession
) -> None:
    apiserver.add_token("caller-token", "carol")
    async with client.get(f"{reviewed.url}/api/v1/namespaces", headers=bearer("caller-token")) as r:
        assert r.status == 200
    forwarded = apiserver.requests[-1]
    assert forwarded.headers["Authorization"] == f"Bearer {ADMIN_TOKEN}"  # --forward-as proxy
    review = next(r for r in apiserver.requests if r.raw_path.endswith("/tokenreviews"))
    assert review.user == "admin", "the review is made with the proxy's own credential"


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="no token"),
        pytest.param(bearer("not-a-known-token"), id="bad token"),
        pytest.param(bearer("x" * 60_000), id="64 KB token"),
        pytest.param({"Authorization": "Basic YWRtaW46YWRtaW4="}, id="basic auth"),
    ],
)
async def test_unauthenticated_callers_get_401_status(
    apiserver: FakeAPIServer,
    reviewed: RunningProxy,
    client: aiohttp.ClientSession,
    headers: dict[str, str],
) -> None:
    async with client.get(f"{reviewed.url}/api/v1/namespaces", headers=headers) as response:
        assert response.status == 401
        body = await response.json()
    assert (body["kind"], body["code"], body["reason"]) == ("Status", 401, "Unauthorized")
    assert not any(r.raw_path == "/api/v1/namespaces" for r in apiserver.requests)


async def test_reviews_cached_and_coalesced(
    apiserver: FakeAPIServer, reviewed: RunningProxy, client: aiohttp.ClientSession
) -> None:
    import asyncio

    apiserver.add_token("cached-token", "dave")

    async def call(token: str) -> int:
        async with client.get(f"{reviewed.url}/version", headers=bearer(token)) as response:
            return response.status

    assert await asyncio.gather(*(call("cached-token") for _ in range(20))) == [200] * 20
    assert reviews(apiserver) == 1, "concurrent reviews of one token are one request"
    assert await call("cached-token") == 200
    assert await call("wrong-token") == 401
    assert await call("wrong-token") == 401
    assert reviews(apiserver) == 2, "positive and negative answers are cached"
    reviewer = reviewed.guards.token_reviewer if reviewed.guards else None
    assert reviewer is not None and reviewer.cache.misses == 2


async def test_audiences_checked(
    apiserver: FakeAPIServer,
    start_proxy: StartProxy,
    admin_kubeconfig: Path,
    client: aiohttp.ClientSession,
) -> None:
    proxy = await start_proxy(
        admin_kubeconfig,
        security=SecurityConfig(authn="tokenreview", authn_audiences=("kube-auth-proxy",)),
    )
    ours, _ = apiserver.token_issuer.issue(
        user=ROBOT, groups=(), audiences=("kube-auth-proxy",), seconds=3600
    )
    theirs, _ = apiserver.token_issuer.issue(
        user=ROBOT, groups=(), audiences=("vault",), seconds=3600
    )
    async with client.get(f"{proxy.url}/version", headers=bearer(ours)) as response:
        assert response.status == 200
    async with client.get(f"{proxy.url}/version", headers=bearer(theirs)) as response:
        assert response.status == 401


async def test_forward_as_caller_gets_exactly_the_callers_rights(
    start_proxy: StartProxy, client: aiohttp.ClientSession, tmp_path: Path
) -> None:
    rbac = RBAC(
        [
            Grant(verbs=("*",), users=("admin",)),
            Grant(
                verbs=("get", "list", "watch"),
                users=(ROBOT,),
                resources=("configmaps",),
                namespaces=("default",),
            ),
        ]
    )
    async with FakeAPIServer(tokens={ADMIN_TOKEN: "admin"}, rbac=rbac) as api:
        robot, _ = api.token_issuer.issue(
            user=ROBOT,
            groups=("system:serviceaccounts",),
            audiences=("https://kubernetes.default.svc.cluster.local",),
            seconds=3600,
        )
        proxy = await start_proxy(
            api.kubeconfig(tmp_path / "k"),
            security=SecurityConfig(authn="tokenreview", forward_as="caller"),
        )
        smuggled = {
            **bearer(robot),
            "Impersonate-User": "admin",
            "Impersonate-Group": "system:masters",
        }
        url = f"{proxy.url}/api/v1/namespaces/default/configmaps"
        async with client.get(url, headers=smuggled) as response:
            assert response.status == 200
        seen = api.requests[-1]
        assert seen.user == ROBOT
        assert seen.headers.getall("Impersonate-User") == [ROBOT]
        assert "system:masters" not in seen.headers.getall("Impersonate-Group")
        async with client.get(f"{proxy.url}/api/v1/namespaces", headers=bearer(robot)) as r:
            assert r.status == 403, "the API server applies the caller's own rights"
        async with client.delete(f"{url}/anything", headers=bearer(robot)) as r:
            assert r.status == 403


async def test_websocket_bearer_subprotocol_authenticates(
    apiserver: FakeAPIServer, reviewed: RunningProxy
) -> None:
    apiserver.add_token("browser-token", "erin")
    encoded = base64.urlsafe_b64encode(b"browser-token").decode().rstrip("=")
    protocols = (f"base64url.bearer.authorization.k8s.io.{encoded}", "binary.k8s.io")
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(
            f"{reviewed.url}/api/v1/namespaces/default/configmaps?watch=true",
            protocols=protocols,
            headers={"Origin": "http://localhost"},
        ) as ws,
    ):
        assert ws.protocol == "binary.k8s.io"
        apiserver.store.create(
            "configmaps", {"metadata": {"name": "ws-authn"}}, namespace="default"
        )
        message = await ws.receive(timeout=10)
        assert json.loads(message.data)["object"]["metadata"]["name"] == "ws-authn"
    assert not any(
        "browser-token" in str(r.headers)
        for r in apiserver.requests
        if not r.raw_path.endswith("/tokenreviews")
    )


def listener_certificates(tmp_path: Path) -> tuple[trustme.CA, Path, Path, trustme.CA, Path]:
    server_ca, client_ca = trustme.CA(), trustme.CA()
    leaf = server_ca.issue_cert("127.0.0.1", "localhost")
    cert, key, client_ca_file = tmp_path / "tls.crt", tmp_path / "tls.key", tmp_path / "ca.crt"
    cert.write_bytes(leaf.cert_chain_pems[0].bytes())
    key.write_bytes(leaf.private_key_pem.bytes())
    client_ca_file.write_bytes(client_ca.cert_pem.bytes())
    return server_ca, cert, key, client_ca, client_ca_file


async def test_client_certificate_authentication_on_a_tls_listener(
    apiserver: FakeAPIServer, start_proxy: StartProxy, admin_kubeconfig: Path, tmp_path: Path
) -> None:
    server_ca, cert, key, client_ca, client_ca_file = listener_certificates(tmp_path)
    proxy = await start_proxy(
        admin_kubeconfig,
        security=SecurityConfig(
            authn="client-cert",
            forward_as="caller",
            tls_cert_file=cert,
            tls_private_key_file=key,
            client_ca_file=client_ca_file,
        ),
    )
    assert proxy.url.startswith("https://")
    with_cert = ssl.create_default_context()
    server_ca.configure_trust(with_cert)
    client_ca.issue_cert(
        "frank@example", common_name="frank", organization_name="ops"
    ).configure_cert(with_cert)
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{proxy.url}/api/v1/namespaces", ssl=with_cert) as response:
            assert response.status == 200
        assert apiserver.requests[-1].headers["Impersonate-User"] == "frank"
        assert apiserver.requests[-1].headers.getall("Impersonate-Group") == ["ops"]
        without_cert = ssl.create_default_context()
        server_ca.configure_trust(without_cert)
        async with session.get(f"{proxy.url}/api/v1/namespaces", ssl=without_cert) as response:
            assert response.status == 401


async def test_tls_listener_speaks_tls_1_2_and_up_only(
    start_proxy: StartProxy, admin_kubeconfig: Path, tmp_path: Path
) -> None:
    server_ca, cert, key, _, _ = listener_certificates(tmp_path)
    proxy = await start_proxy(
        admin_kubeconfig, security=SecurityConfig(tls_cert_file=cert, tls_private_key_file=key)
    )
    assert proxy.guards is not None and proxy.guards.listener_tls is not None
    assert proxy.guards.listener_tls.context.minimum_version == ssl.TLSVersion.TLSv1_2
    tls12 = ssl.create_default_context()
    server_ca.configure_trust(tls12)
    tls12.maximum_version = ssl.TLSVersion.TLSv1_2
    async with aiohttp.ClientSession() as session, session.get(
        f"{proxy.url}/version", ssl=tls12
    ) as response:
        assert response.status == 200


async def test_audit_line_per_request_without_tokens(
    apiserver: FakeAPIServer,
    start_proxy: StartProxy,
    admin_kubeconfig: Path,
    client: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    apiserver.add_token("audited-token", "grace")
    proxy = await start_proxy(
        admin_kubeconfig,
        security=SecurityConfig(authn="tokenreview", audit_log=tmp_path / "audit.log"),
    )
    async with client.get(
        f"{proxy.url}/api/v1/namespaces?token=audited-token", headers=bearer("audited-token")
    ) as response:
        assert response.status == 200
    async with client.get(f"{proxy.url}/api/v1/namespaces") as response:
        assert response.status == 401
    written = (tmp_path / "audit.log").read_text()
    lines = [json.loads(line) for line in written.splitlines()]
    assert [(line["user"], line["code"]) for line in lines] == [("grace", 200), (None, 401)]
    assert lines[0]["verb"] == "GET" and lines[0]["path"] == "/api/v1/namespaces"
    assert lines[0]["acting_as"] == "proxy:token" and lines[0]["source"] == "127.0.0.1"
    assert lines[0]["bytes"] > 0 and "groups" in lines[0] and "duration_ms" in lines[0]
    assert "audited-token" not in written and "audited-token" not in caplog.text
