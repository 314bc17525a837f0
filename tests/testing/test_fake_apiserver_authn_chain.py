"""The fake authenticates, impersonates and authorizes as kube-apiserver 1.32 does (anonymous
requests allowed, bootstrap RBAC), down to the odd corners a proxy must not paper over."""

from __future__ import annotations

import aiohttp
import pytest

from proxy.testing import FakeAPIServer
from tests.testing.conftest import ADMIN, ADMIN_TOKEN, LIMITED

WHOAMI = "/apis/authentication.k8s.io/v1/selfsubjectreviews"
SSR = {"kind": "SelfSubjectReview", "apiVersion": "authentication.k8s.io/v1"}
NAMESPACES = "/api/v1/namespaces"


async def _status(session: aiohttp.ClientSession, headers: dict[str, str]) -> tuple[int, str]:
    async with session.get(NAMESPACES, headers=headers) as response:
        body = await response.json()
        return response.status, body.get("message", "") if body.get("kind") == "Status" else ""


@pytest.mark.parametrize(
    ("authorization", "expected"),
    [
        pytest.param(None, 403, id="no credentials: anonymous, then RBAC"),
        pytest.param("Basic dXNlcjpwYXNz", 403, id="Basic is not a bearer scheme"),
        pytest.param("Bearer ", 403, id="empty bearer"),
        pytest.param(f"Bearer  {ADMIN_TOKEN}", 403, id="two spaces: token ignored"),
        pytest.param("Bearer junk-token", 401, id="unknown token"),
        pytest.param(f"bearer {ADMIN_TOKEN}", 200, id="lower-case scheme"),
        pytest.param(f"Bearer {ADMIN_TOKEN} junk", 200, id="a second word is ignored"),
    ],
)
async def test_authorization_header_read_as_the_apiserver_reads_it(
    strict_session: aiohttp.ClientSession, authorization: str | None, expected: int
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    status, message = await _status(strict_session, headers)
    assert status == expected
    if expected == 403:
        assert message == (
            'namespaces is forbidden: User "system:anonymous" cannot list resource '
            '"namespaces" in API group "" at the cluster scope'
        )


async def test_extra_space_before_the_token_is_warned_about(
    strict_session: aiohttp.ClientSession,
) -> None:
    headers = {"Authorization": f"Bearer  {ADMIN_TOKEN}"}
    async with strict_session.get(NAMESPACES, headers=headers) as response:
        assert response.headers["Warning"] == (
            '299 - "the provided Authorization header contains extra space before the bearer '
            'token, and is ignored"'
        )
        assert response.headers["X-Content-Type-Options"] == "nosniff"


async def test_unknown_token_is_401_even_on_a_public_path(
    strict_session: aiohttp.ClientSession,
) -> None:
    async with strict_session.get("/healthz") as response:
        assert response.status == 200
    async with strict_session.get("/healthz", headers={"Authorization": "Bearer x"}) as response:
        assert response.status == 401


async def test_group_without_user_is_a_plain_text_500(
    strict_session: aiohttp.ClientSession,
) -> None:
    path = "/api/v1/namespaces/default/configmaps"
    headers = {**ADMIN, "Impersonate-Group": "system:masters"}
    async with strict_session.get(path, headers=headers) as response:
        assert response.status == 500
        assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
        assert await response.text() == (
            f'Internal Server Error: "{path}": requested [{{Group  system:masters    }}] '
            "without impersonating a user\n"
        )


async def test_impersonation_needs_the_impersonate_verb(
    strict_session: aiohttp.ClientSession,
) -> None:
    headers = {**LIMITED, "Impersonate-User": "admin-token-user"}
    async with strict_session.get(NAMESPACES, headers=headers) as response:
        body = await response.json()
    assert response.status == 403
    assert body["message"] == (
        'users "admin-token-user" is forbidden: User "limited-user" cannot impersonate '
        'resource "users" in API group "" at the cluster scope'
    )
    assert body["details"] == {"name": "admin-token-user", "kind": "users"}


async def test_impersonated_service_account_gets_its_groups(
    strict_session: aiohttp.ClientSession,
) -> None:
    headers = {**ADMIN, "Impersonate-User": "system:serviceaccount:default:default"}
    async with strict_session.post(WHOAMI, json=SSR, headers=headers) as response:
        info = (await response.json())["status"]["userInfo"]
    assert info == {
        "username": "system:serviceaccount:default:default",
        "groups": ["system:serviceaccounts", "system:serviceaccounts:default",
                   "system:authenticated"],
    }


async def test_token_for_another_audience_is_401(
    strict_api: FakeAPIServer, strict_session: aiohttp.ClientSession
) -> None:
    path = "/api/v1/namespaces/default/serviceaccounts/default/token"
    tokens = []
    for spec in ({}, {"audiences": ["vault"]}):
        async with strict_session.post(path, json={"spec": spec}, headers=ADMIN) as response:
            assert response.status == 201
            tokens.append((await response.json())["status"]["token"])
    api_token, foreign = tokens
    async with strict_session.post(
        WHOAMI, json=SSR, headers={"Authorization": f"Bearer {api_token}"}
    ) as response:
        assert (await response.json())["status"]["userInfo"]["username"] == (
            "system:serviceaccount:default:default"
        )
    status, _ = await _status(strict_session, {"Authorization": f"Bearer {foreign}"})
    assert status == 401


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"expirationSeconds": 60}, "may not specify a duration less than 10 minutes"),
        ({"expirationSeconds": 2**32 + 1}, "may not specify a duration larger than 2^32 seconds"),
    ],
)
async def test_token_request_lifetime_outside_the_limits_is_invalid(
    strict_session: aiohttp.ClientSession, spec: dict[str, int], message: str
) -> None:
    path = "/api/v1/namespaces/default/serviceaccounts/default/token"
    async with strict_session.post(path, json={"spec": spec}, headers=ADMIN) as response:
        body = await response.json()
    assert (response.status, body["reason"]) == (422, "Invalid")
    assert body["message"].endswith(f"Invalid value: {spec['expirationSeconds']}: {message}")


async def test_token_request_for_a_missing_service_account_is_404(
    strict_session: aiohttp.ClientSession,
) -> None:
    path = "/api/v1/namespaces/default/serviceaccounts/nope/token"
    async with strict_session.post(path, json={}, headers=ADMIN) as response:
        assert response.status == 404
        assert (await response.json())["message"] == 'serviceaccounts "nope" not found'


async def test_access_reviews_answer_from_the_bootstrap_policy(
    strict_session: aiohttp.ClientSession,
) -> None:
    review = {"spec": {"nonResourceAttributes": {"path": "/api", "verb": "get"}}}
    path = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
    async with strict_session.post(path, json=review, headers=LIMITED) as response:
        assert (await response.json())["status"] == {
            "allowed": True,
            "reason": 'RBAC: allowed by ClusterRoleBinding "system:discovery" of ClusterRole '
            '"system:discovery" to Group "system:authenticated"',
        }
    sar = {"spec": {"resourceAttributes": {"verb": "list", "resource": "pods"}}}
    path = "/apis/authorization.k8s.io/v1/subjectaccessreviews"
    async with strict_session.post(path, json=sar, headers=ADMIN) as response:
        body = await response.json()
    assert response.status == 422
    assert body["message"] == (
        '.authorization.k8s.io "" is invalid: spec.user: Invalid value: "": at least one of '
        "user or group must be specified"
    )
