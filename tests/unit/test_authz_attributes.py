"""Request attributes as the kube-apiserver's RequestInfoFactory works them out."""

from __future__ import annotations

import pytest

from proxy.authz.attributes import Attributes, request_attributes


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        pytest.param(
            "GET",
            "/api/v1/namespaces/ns/pods/web/log",
            Attributes(
                "get",
                "/api/v1/namespaces/ns/pods/web/log",
                True,
                "",
                "v1",
                "ns",
                "pods",
                "log",
                "web",
            ),
            id="subresource",
        ),
        pytest.param(
            "GET",
            "/apis/apps/v1/deployments?watch=1",
            Attributes("watch", "/apis/apps/v1/deployments", True, "apps", "v1", "", "deployments"),
            id="watch by query",
        ),
        pytest.param(
            "GET",
            "/api/v1/watch/namespaces/ns/configmaps/x",
            Attributes(
                "watch",
                "/api/v1/watch/namespaces/ns/configmaps/x",
                True,
                "",
                "v1",
                "ns",
                "configmaps",
                "",
                "x",
            ),
            id="legacy watch path",
        ),
        pytest.param(
            "GET",
            "/api/v1/namespaces",
            Attributes("list", "/api/v1/namespaces", True, "", "v1", "", "namespaces"),
            id="list namespaces",
        ),
        pytest.param(
            "GET",
            "/api/v1/namespaces/kube-system",
            Attributes(
                "get",
                "/api/v1/namespaces/kube-system",
                True,
                "",
                "v1",
                "kube-system",
                "namespaces",
                "",
                "kube-system",
            ),
            id="a namespace is in itself",
        ),
        pytest.param(
            "PUT",
            "/api/v1/namespaces/ns/finalize",
            Attributes(
                "update",
                "/api/v1/namespaces/ns/finalize",
                True,
                "",
                "v1",
                "ns",
                "namespaces",
                "finalize",
                "ns",
            ),
            id="namespace subresource",
        ),
        pytest.param(
            "DELETE",
            "/api/v1/namespaces/ns/configmaps",
            Attributes(
                "deletecollection",
                "/api/v1/namespaces/ns/configmaps",
                True,
                "",
                "v1",
                "ns",
                "configmaps",
            ),
            id="delete collection",
        ),
        pytest.param(
            "POST",
            "/api/v1/namespaces/ns/pods/web/exec",
            Attributes(
                "create",
                "/api/v1/namespaces/ns/pods/web/exec",
                True,
                "",
                "v1",
                "ns",
                "pods",
                "exec",
                "web",
            ),
            id="exec is create",
        ),
        pytest.param("GET", "/version", Attributes("get", "/version"), id="non-resource"),
        pytest.param(
            "GET",
            "/apis/apps/v1",
            Attributes("get", "/apis/apps/v1"),
            id="discovery is non-resource",
        ),
        pytest.param(
            "POST", "/logs", Attributes("post", "/logs"), id="non-resource verb is the method"
        ),
    ],
)
def test_attributes(method: str, path: str, expected: Attributes) -> None:
    assert request_attributes(method, path) == expected


def test_forbidden_message_reads_like_the_apiservers() -> None:
    attributes = request_attributes("GET", "/api/v1/namespaces/ns/pods/web/log")
    assert attributes.describe() == (
        'get resource "pods/log" in API group "" in the namespace "ns"'
    )
