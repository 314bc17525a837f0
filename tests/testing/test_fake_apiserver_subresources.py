"""Subresources as the apiserver answers them for pods that never run (no node, or a node
that does not exist), and status, scale and binding, which change only their part."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from proxy.testing import FakeAPIServer
from tests.testing.conftest import ADMIN

PODS = "/api/v1/namespaces/default/pods"
NO_HOST = "pod unscheduled does not have a host assigned"
MERGE = {**ADMIN, "Content-Type": "application/merge-patch+json"}


def _pod(name: str, node: str | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": "c", "image": "example.invalid/none:1"}]}
    if node:
        spec["nodeName"] = node
    return {"metadata": {"name": name}, "spec": spec}


@pytest.fixture
def never_running(strict_api: FakeAPIServer) -> FakeAPIServer:
    strict_api.store.create("pods", _pod("unscheduled"), namespace="default")
    strict_api.store.create("pods", _pod("lost", node="no-such-node"), namespace="default")
    return strict_api


@pytest.mark.parametrize(
    ("method", "path", "status", "message"),
    [
        ("POST", "unscheduled/exec?command=ls", 400, NO_HOST),
        ("GET", "unscheduled/attach?stdout=true", 400, NO_HOST),
        ("POST", "unscheduled/portforward?ports=80", 400, NO_HOST),
        ("POST", "lost/exec?command=ls", 404, 'pods "no-such-node" not found'),
        ("GET", "lost/log", 404, 'pods "no-such-node" not found'),
        ("POST", "nope/exec?command=ls", 404, 'pods "nope" not found'),
        ("GET", "unscheduled/log?container=other", 400,
         "container other is not valid for pod unscheduled"),
        ("GET", "unscheduled/proxy/", 400, "address not allowed"),
    ],
)
async def test_streaming_subresources_of_pods_that_never_run(
    never_running: FakeAPIServer,
    strict_session: aiohttp.ClientSession,
    method: str,
    path: str,
    status: int,
    message: str,
) -> None:
    async with strict_session.request(method, f"{PODS}/{path}", headers=ADMIN) as response:
        body = await response.json()
    assert (response.status, body["message"]) == (status, message)


async def test_log_of_an_unscheduled_pod_is_204_without_content_type(
    never_running: FakeAPIServer, strict_session: aiohttp.ClientSession
) -> None:
    async with strict_session.get(f"{PODS}/unscheduled/log", headers=ADMIN) as response:
        assert response.status == 204
        assert "Content-Type" not in response.headers


async def test_binding_assigns_once_then_conflicts(
    never_running: FakeAPIServer, strict_session: aiohttp.ClientSession
) -> None:
    binding = {"kind": "Binding", "apiVersion": "v1", "metadata": {"name": "unscheduled"},
               "target": {"kind": "Node", "name": "n1"}}
    url = f"{PODS}/unscheduled/binding"
    async with strict_session.post(url, json=binding, headers=ADMIN) as response:
        assert (response.status, (await response.json())["status"]) == (201, "Success")
    async with strict_session.post(url, json=binding, headers=ADMIN) as response:
        body = await response.json()
    assert response.status == 409
    assert body["message"] == (
        'Operation cannot be fulfilled on pods/binding "unscheduled": pod unscheduled is '
        'already assigned to node "n1"'
    )


async def test_status_patch_changes_only_status_and_a_pod_patch_only_the_rest(
    never_running: FakeAPIServer, strict_session: aiohttp.ClientSession
) -> None:
    patch = {"spec": {"activeDeadlineSeconds": 5}, "status": {"message": "by status"}}
    async with strict_session.patch(f"{PODS}/unscheduled/status", json=patch,
                                    headers=MERGE) as response:
        pod = await response.json()
    assert "activeDeadlineSeconds" not in pod["spec"]
    assert pod["status"]["message"] == "by status"
    patch = {"metadata": {"labels": {"x": "y"}}, "status": {"message": "by pod"}}
    async with strict_session.patch(f"{PODS}/unscheduled", json=patch, headers=MERGE) as response:
        pod = await response.json()
    assert pod["metadata"]["labels"] == {"x": "y"}
    assert pod["status"]["message"] == "by status"


async def test_scale_reads_and_writes_a_deployment_s_replicas(
    strict_api: FakeAPIServer, strict_session: aiohttp.ClientSession
) -> None:
    deployment = {"metadata": {"name": "d"}, "spec": {"replicas": 1, "selector": {
        "matchLabels": {"app": "d"}}}}
    strict_api.store.create("deployments", deployment, namespace="default")
    url = "/apis/apps/v1/namespaces/default/deployments/d/scale"
    async with strict_session.patch(url, json={"spec": {"replicas": 3}}, headers=MERGE) as r:
        scale = await r.json()
    assert (scale["kind"], scale["apiVersion"]) == ("Scale", "autoscaling/v1")
    assert scale["spec"] == {"replicas": 3}
    assert scale["status"]["selector"] == "app=d"
    assert strict_api.store.get("deployments", "d", namespace="default")["spec"]["replicas"] == 3


async def test_service_proxy_needs_endpoints_with_addresses(
    strict_api: FakeAPIServer, strict_session: aiohttp.ClientSession
) -> None:
    for name in ("s1", "s2"):
        strict_api.store.create("services", {"metadata": {"name": name}, "spec": {
            "ports": [{"port": 80}]}}, namespace="default")
    strict_api.store.create("endpoints", {"metadata": {"name": "s2"}, "subsets": []},
                            namespace="default")
    base = "/api/v1/namespaces/default/services"
    async with strict_session.get(f"{base}/s1/proxy/", headers=ADMIN) as response:
        assert (response.status, (await response.json())["message"]) == (
            404, 'services "s1" not found')
    async with strict_session.get(f"{base}/s2/proxy/", headers=ADMIN) as response:
        assert (response.status, (await response.json())["message"]) == (
            503, 'no endpoints available for service "s2"')


async def test_service_account_token_cannot_be_read(
    strict_session: aiohttp.ClientSession,
) -> None:
    url = "/api/v1/namespaces/default/serviceaccounts/default/token"
    async with strict_session.get(url, headers=ADMIN) as response:
        assert response.status == 405
