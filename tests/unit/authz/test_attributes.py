"""Request attributes as the kube-apiserver's RequestInfoFactory works them out."""

from __future__ import annotations

import pytest

from proxy.authz.attributes import Attributes, request_attributes
from proxy.errors import BadRequestError


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


@pytest.mark.parametrize(
    ("method", "target", "expected"),
    [
        pytest.param(
            "GET", "/api/v1/namespaces/ns/secrets%23x",
            Attributes("list", "/api/v1/namespaces/ns/secrets#x", True, "", "v1", "ns",
                       "secrets#x"),
            id="escaped hash stays in the resource, as the API server reads it",
        ),
        pytest.param(
            "GET", "/api/v1/namespaces/ns/configmaps/a%2Fb",
            Attributes("get", "/api/v1/namespaces/ns/configmaps/a/b", True, "", "v1", "ns",
                       "configmaps", "b", "a"),
            id="escaped slash splits the name, as the API server reads it",
        ),
        pytest.param(
            "GET", "/api/v1/namespaces/ns/configmaps?watch=yes",
            Attributes("watch", "/api/v1/namespaces/ns/configmaps", True, "", "v1", "ns",
                       "configmaps"),
            id="watch=yes is a watch",
        ),
        pytest.param(
            "GET", "/api/v1/namespaces/ns/configmaps?watch",
            Attributes("watch", "/api/v1/namespaces/ns/configmaps", True, "", "v1", "ns",
                       "configmaps"),
            id="bare watch is a watch",
        ),
        pytest.param(
            "GET", "/api/v1/namespaces/ns/configmaps?watch=FALSE",
            Attributes("list", "/api/v1/namespaces/ns/configmaps", True, "", "v1", "ns",
                       "configmaps"),
            id="watch=FALSE is a list",
        ),
        pytest.param(
            "POST", "/api/v1/watch/namespaces/ns/configmaps",
            Attributes("watch", "/api/v1/watch/namespaces/ns/configmaps", True, "", "v1", "ns",
                       "configmaps"),
            id="the legacy watch path is a watch whatever the method",
        ),
        pytest.param(
            "GET", "/api/v1/proxy/namespaces/ns/services/s/x/y",
            Attributes("proxy", "/api/v1/proxy/namespaces/ns/services/s/x/y", True, "", "v1",
                       "ns", "services", "", "s"),
            id="legacy proxy verb has no subresource",
        ),
        pytest.param(
            "POST", "/api/v1/namespaces/ns/serviceaccounts/default/token",
            Attributes("create", "/api/v1/namespaces/ns/serviceaccounts/default/token", True, "",
                       "v1", "ns", "serviceaccounts", "token", "default"),
            id="token request is a subresource",
        ),
        pytest.param(
            "GET", "/api/v1/namespaces/ns/configmaps?fieldSelector=metadata.name%3Dw1&watch=1",
            Attributes("watch", "/api/v1/namespaces/ns/configmaps", True, "", "v1", "ns",
                       "configmaps", "", "w1"),
            id="kubectl get cm w1 -w names w1",
        ),
        pytest.param(
            "OPTIONS", "/api/v1/namespaces/ns/configmaps",
            Attributes("", "/api/v1/namespaces/ns/configmaps", True, "", "v1", "ns",
                       "configmaps"),
            id="a method with no verb has the empty verb",
        ),
        pytest.param(
            "HEAD", "/api/v1/namespaces/ns/configmaps/c",
            Attributes("get", "/api/v1/namespaces/ns/configmaps/c", True, "", "v1", "ns",
                       "configmaps", "", "c"),
            id="HEAD is get",
        ),
    ],
)  # fmt: skip
def test_attributes_of_tricky_spellings(method: str, target: str, expected: Attributes) -> None:
    assert request_attributes(method, target) == expected


def test_unreadable_target_has_no_attributes() -> None:
    with pytest.raises(BadRequestError):
        request_attributes("GET", "/api/v1/namespaces/ns/secrets#x")
