"""Authentication and request recording of the fake API server, over real TLS."""

from __future__ import annotations

import base64
import ssl

import aiohttp
import pytest
from yarl import URL

from proxy.testing import FakeAPIServer

UNAUTHORIZED = {
    "kind": "Status",
    "apiVersion": "v1",
    "metadata": {},
    "status": "Failure",
    "message": "Unauthorized",
    "reason": "Unauthorized",
    "code": 401,
}


async def test_request_without_credentials_is_401_status(
    api: FakeAPIServer, session: aiohttp.ClientSession
) -> None:
    async with session.get("/api/v1/namespaces") as response:
        assert response.status == 401
        assert response.headers["Content-Type"] == "application/json"
        assert await response.json() == UNAUTHORIZED
    assert api.requests[-1].user is None
    assert api.requests[-1].raw_path == "/api/v1/namespaces"


async def test_unknown_bearer_token_is_401(session: aiohttp.ClientSession) -> None:
    async with session.get("/version", headers={"Authorization": "Bearer nope"}) as response:
        assert response.status == 401


async def test_bearer_token_authenticates_its_user(
    api: FakeAPIServer, session: aiohttp.ClientSession, auth: dict[str, str]
) -> None:
    async with session.get("/version", headers=auth) as response:
        assert response.status == 200
        assert (await response.json())["gitVersion"] == "v1.32.13"
    assert api.requests[-1].user == "admin"
    assert api.requests[-1].headers["Authorization"] == auth["Authorization"]


@pytest.mark.parametrize(
    ("password", "expected"), [("s3cret", 200), ("wrong", 401)], ids=["right password", "wrong"]
)
async def test_basic_auth(session: aiohttp.ClientSession, password: str, expected: int) -> None:
    credentials = base64.b64encode(f"alice:{password}".encode()).decode()
    headers = {"Authorization": f"Basic {credentials}"}
    async with session.get("/api", headers=headers) as response:
        assert response.status == expected


async def _whoami(api: FakeAPIServer, context: ssl.SSLContext, headers: dict[str, str]) -> dict:  # type: ignore[type-arg]
    connector = aiohttp.TCPConnector(ssl=context)
    async with (
        aiohttp.ClientSession(base_url=api.url, connector=connector) as client,
        client.post(
            "/apis/authentication.k8s.io/v1/selfsubjectreviews",
            json={"kind": "SelfSubjectReview", "apiVersion": "authentication.k8s.io/v1"},
            headers=headers,
        ) as response,
    ):
        assert response.status == 201
        body: dict = await response.json()  # type: ignore[type-arg]
        return body["status"]["userInfo"]  # type: ignore[no-any-return]


async def test_client_cert_authenticates_cn_with_o_as_groups(api: FakeAPIServer) -> None:
    context = api.client_ssl_context()
    api.issue_client_cert("carol", groups=["devs", "ops"]).configure_cert(context)
    info = await _whoami(api, context, {})
    assert info["username"] == "carol"
    assert info["groups"] == ["devs", "ops", "system:authenticated"]
    (credential,) = info["extra"]["authentication.kubernetes.io/credential-id"]
    assert credential.startswith("X509SHA256=")
    assert api.requests[-1].user == "carol"


async def test_bad_token_with_good_client_cert_is_the_cert_user(api: FakeAPIServer) -> None:
    context = api.client_ssl_context()
    api.issue_client_cert("carol").configure_cert(context)
    info = await _whoami(api, context, {"Authorization": "Bearer wrong"})
    assert info["username"] == "carol"


async def test_token_review_authenticates_known_tokens(
    session: aiohttp.ClientSession, auth: dict[str, str]
) -> None:
    for token, authenticated in (("fake-admin-token", True), ("nope", False)):
        review = {
            "kind": "TokenReview",
            "apiVersion": "authentication.k8s.io/v1",
            "spec": {"token": token},
        }
        async with session.post(
            "/apis/authentication.k8s.io/v1/tokenreviews", json=review, headers=auth
        ) as response:
            body = await response.json()
        assert body["status"].get("authenticated", False) is authenticated
        if authenticated:
            assert body["status"]["user"]["username"] == "admin"


async def test_raw_path_is_recorded_undecoded(
    api: FakeAPIServer, session: aiohttp.ClientSession, auth: dict[str, str]
) -> None:
    url = api.url + "/api/v1/namespaces/default/configmaps?labelSelector=a%3Db"
    async with session.get(URL(url, encoded=True), headers=auth):
        pass
    assert api.requests[-1].raw_path == "/api/v1/namespaces/default/configmaps?labelSelector=a%3Db"
