"""The static policy file: rules, the read-only scope, and errors that name the rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from proxy.authz.attributes import request_attributes
from proxy.authz.middleware import required_attributes
from proxy.authz.policy import Policy, load_policy, non_resource_url_matches, resource_matches
from proxy.errors import ConfigError
from proxy.identity import Identity
from proxy.routing.canonical import canonicalise

EXAMPLE = Path(__file__).resolve().parents[3] / "config" / "policy.example.yaml"
READER = Identity("reader", groups=("system:authenticated",))
DEPLOYER = Identity("deployer", groups=("system:authenticated",))
STRANGER = Identity("stranger")


@pytest.mark.parametrize(
    ("who", "method", "path", "allowed"),
    [
        (READER, "GET", "/api/v1/namespaces/a/pods", True),
        (READER, "GET", "/apis/apps/v1/namespaces/a/deployments?watch=true", True),
        (READER, "GET", "/api/v1/namespaces/a/secrets/db", False),
        (READER, "DELETE", "/api/v1/namespaces/a/pods/web", False),
        (READER, "POST", "/api/v1/namespaces/a/pods/web/exec", False),
        (READER, "GET", "/metrics", True),
        (DEPLOYER, "PATCH", "/apis/apps/v1/namespaces/staging/deployments/web", True),
        (DEPLOYER, "PUT", "/apis/apps/v1/namespaces/staging/deployments/web/scale", True),
        (DEPLOYER, "PATCH", "/apis/apps/v1/namespaces/prod/deployments/web", False),
        (DEPLOYER, "DELETE", "/apis/apps/v1/namespaces/staging/deployments/web", False),
        (DEPLOYER, "GET", "/openapi/v3/apis/apps/v1", True),
        (DEPLOYER, "GET", "/api/v1/namespaces/staging/pods", False),
        (STRANGER, "GET", "/version", False),
    ],
)
def test_example_policy(who: Identity, method: str, path: str, allowed: bool) -> None:
    policy = load_policy(EXAMPLE)
    assert policy.allows(who, request_attributes(method, path))[0] is allowed


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("rules: []", "non-empty `rules`"),
        ("rules:\n- verbs: [get]\n", "names no users and no groups"),
        ("rules:\n- users: [a]\n  scope: admin\n", "the only scope is read-only"),
        ("rules:\n- users: [a]\n  verb: [get]\n", "unknown fields ['verb']"),
        ("rules:\n- users: a\n", "rules[0].users: must be a list of strings"),
    ],
)
def test_bad_policy_names_the_rule(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(content)
    with pytest.raises(ConfigError) as info:
        load_policy(path)
    assert message in str(info.value) and str(path) in str(info.value)


@pytest.mark.parametrize(
    ("rule_resources", "resource", "subresource", "matches"),
    [
        (("serviceaccounts",), "serviceaccounts", "", True),
        (("serviceaccounts",), "serviceaccounts", "token", False),
        (("serviceaccounts/token",), "serviceaccounts", "token", True),
        (("serviceaccounts/token",), "serviceaccounts", "", False),
        (("*",), "pods", "", True),
        (("*",), "pods", "exec", True),
        (("*/scale",), "deployments", "scale", True),
        (("*/scale",), "deployments", "", False),
        (("*/scale",), "deployments", "status", False),
        (("pods/*",), "pods", "log", False),  # RBAC has no subresource wildcard
        (("pods/*",), "pods", "*", True),
        (("pods",), "pods/log", "", False),
    ],
)  # fmt: skip
def test_resources_match_as_rbac_matches_them(
    rule_resources: tuple[str, ...], resource: str, subresource: str, matches: bool
) -> None:
    assert resource_matches(rule_resources, resource, subresource) is matches


@pytest.mark.parametrize(
    ("urls", "path", "matches"),
    [
        (("/openapi/*",), "/openapi/v3/apis/apps/v1", True),
        (("/openapi/*",), "/openapi", False),
        (("/healthz",), "/healthz/etcd", False),
        (("/healthz?",), "/healthzx", False),  # no glob: only a trailing * means a prefix
        (("/api[s]",), "/apis", False),
        (("*",), "/anything", True),
    ],
)  # fmt: skip
def test_non_resource_urls_match_as_rbac_matches_them(
    urls: tuple[str, ...], path: str, matches: bool
) -> None:
    assert non_resource_url_matches(urls, path) is matches


def policy(tmp_path: Path, text: str) -> Policy:
    path = tmp_path / "policy.yaml"
    path.write_text(text)
    return load_policy(path)


@pytest.mark.parametrize(
    ("method", "target", "allowed"),
    [
        ("POST", "/api/v1/namespaces/a/serviceaccounts", True),
        ("POST", "/api/v1/namespaces/a/serviceaccounts/default/token", False),
        ("POST", "/api/v1/namespaces/a/serviceaccounts%2Fdefault%2Ftoken", False),
    ],
)
def test_a_resource_rule_does_not_cover_its_subresources(
    tmp_path: Path, method: str, target: str, allowed: bool
) -> None:
    rules = policy(tmp_path, "rules:\n- users: [ci]\n  verbs: [create]\n"
                             "  resources: [serviceaccounts]\n")
    who = Identity("ci")
    assert rules.allows(who, request_attributes(method, target))[0] is allowed


@pytest.mark.parametrize(
    ("target", "allowed"),
    [
        ("/api/v1/namespaces/a/pods/web/log", True),
        ("/api/v1/namespaces/a/pods/web/exec?command=sh", False),
        ("/api/v1/namespaces/a/pods/web/attach", False),
        ("/api/v1/namespaces/a/pods/web/portforward?ports=80", False),
        ("/api/v1/namespaces/a/services/web/proxy/", False),
        ("/api/v1/nodes/n1/proxy/configz", False),
        ("/api/v1/namespaces/a/secrets", False),
        ("/api/v1/namespaces/a/secrets%23x", True),  # the API server has no such resource: 404
    ],
)
def test_read_only_scope_reads_but_never_reaches_into_workloads(
    target: str, allowed: bool
) -> None:
    assert load_policy(EXAMPLE).allows(READER, request_attributes("GET", target))[0] is allowed


def test_websocket_exec_also_needs_create_as_the_api_server_checks() -> None:
    exec_get = canonicalise("GET", "/api/v1/namespaces/a/pods/web/exec?command=sh",
                            upgrade="websocket")
    assert [a.verb for a in required_attributes(exec_get)] == ["get", "create"]
    log_get = canonicalise("GET", "/api/v1/namespaces/a/pods/web/log")
    assert [a.verb for a in required_attributes(log_get)] == ["get"]
