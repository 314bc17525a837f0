"""The static policy file: rules, the read-only scope, and errors that name the rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from proxy.authz.attributes import request_attributes
from proxy.authz.policy import load_policy
from proxy.errors import ConfigError
from proxy.identity import Identity

EXAMPLE = Path(__file__).parent.parent.parent / "config" / "policy.example.yaml"
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
