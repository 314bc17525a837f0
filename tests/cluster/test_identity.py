"""Who the API server sees: the impersonated user, a service account's token, and its 403s."""

from __future__ import annotations

import time

import pytest

from tests.cluster.conftest import NOBODY, NOBODY_GROUP, ServiceAccount
from tests.cluster.harness import Cluster, ProxyProcess, call, kubectl_argv, who_am_i
from tests.e2e.conftest import run


async def test_forbidden_request_gets_the_api_servers_403(
    impersonating_proxy: ProxyProcess, namespace: str
) -> None:
    code, answer = call(impersonating_proxy, "GET", f"/api/v1/namespaces/{namespace}/configmaps")
    if code == 200:
        pytest.skip(f"the cluster let {NOBODY} list ConfigMaps: it authorizes everything")
    assert code == 403, answer
    assert (answer["kind"], answer["reason"]) == ("Status", "Forbidden"), answer
    assert f'"{NOBODY}"' in answer["message"]
    code, _, err = await run(*kubectl_argv(impersonating_proxy, "get", "configmaps",
                                           "-n", namespace))
    assert code != 0
    assert "Error from server (Forbidden)" in err and NOBODY in err, err


def test_impersonation_makes_the_api_server_see_the_given_user(
    impersonating_proxy: ProxyProcess,
) -> None:
    user = who_am_i(impersonating_proxy)
    if user is None:
        pytest.skip("the cluster serves no SelfSubjectReview (Kubernetes 1.28 or newer)")
    assert user["username"] == NOBODY
    assert NOBODY_GROUP in user["groups"]


def service_account_identity(cluster: Cluster, proxy: ProxyProcess, account: ServiceAccount
                             ) -> str:
    """Who the API server sees through the proxy: SelfSubjectReview where served, else the
    user a 403 names."""
    user = who_am_i(proxy)
    if user is not None:
        return str(user["username"])
    code, answer = call(proxy, "GET", f"/api/v1/namespaces/{account.namespace}/secrets")
    if code != 403 and not cluster.serves("v1", "serviceaccounts/token"):
        pytest.skip(f"the cluster serves no TokenRequest: {code} {answer.get('message')}")
    assert code == 403, answer
    return str(answer["message"])


def test_token_request_acts_as_the_service_account(
    cluster: Cluster, token_request_proxy: ProxyProcess, service_account: ServiceAccount
) -> None:
    identity = service_account_identity(cluster, token_request_proxy, service_account)
    assert service_account.user in identity


def test_token_request_lists_what_the_role_grants_and_no_more(
    cluster: Cluster, token_request_proxy: ProxyProcess, service_account: ServiceAccount
) -> None:
    if service_account.no_role is not None:
        pytest.skip(f"no Role to grant: {service_account.no_role}")
    path = f"/api/v1/namespaces/{service_account.namespace}/configmaps"
    deadline = time.monotonic() + 10  # the authorizer's view of a new binding lags a little
    while (answer := call(token_request_proxy, "GET", path))[0] == 403:
        assert time.monotonic() < deadline, answer
        time.sleep(0.2)
    assert answer[0] == 200, answer
    assert answer[1]["kind"] == "ConfigMapList"
    code, refusal = call(token_request_proxy, "GET",
                         f"/api/v1/namespaces/{service_account.namespace}/secrets")
    assert code == 403, refusal
    assert service_account.user in refusal["message"]
