"""A static policy file: who may do what, decided in the proxy without asking the API server.

    rules:
      - groups: [readers]
        scope: read-only          # get, list, watch on everything but secrets (OpenShift's `read`)
      - users: [deployer]
        verbs: [get, list, create, update, patch]
        apiGroups: [apps]
        resources: [deployments]
        namespaces: [staging]
      - groups: [system:authenticated]
        nonResourceURLs: [/version, /healthz, /api, /apis, /openapi/*]
        verbs: [get]

A request is allowed when any rule matches it. Verbs, apiGroups, resources and
nonResourceURLs match as in RBAC: `*` matches anything; a resource matches its
subresources only when named (`pods/log`), `*/scale` names one subresource of any
resource; a non-resource URL ending in `*` matches a prefix. The read-only scope
never reaches into workloads: not `exec`, `attach`, `portforward` or `proxy`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from proxy.authz.attributes import Attributes
from proxy.errors import ConfigError
from proxy.identity import Identity

READ_ONLY_VERBS = ("get", "list", "watch")
# Reading these runs code or opens connections in a workload: not a read.
READ_ONLY_EXCLUDED_SUBRESOURCES = frozenset({"exec", "attach", "portforward", "proxy"})
_FIELDS = {"users", "groups", "verbs", "apiGroups", "resources", "namespaces",
           "nonResourceURLs", "scope", "allowSecrets"}


@dataclass(frozen=True)
class Rule:
    users: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ("*",)
    api_groups: tuple[str, ...] = ("*",)
    resources: tuple[str, ...] = ("*",)
    namespaces: tuple[str, ...] = ("*",)
    non_resource_urls: tuple[str, ...] = ()
    read_only: bool = False
    allow_secrets: bool = True

    def applies_to(self, identity: Identity) -> bool:
        return ("*" in self.users or identity.user in self.users
                or "*" in self.groups or bool(set(identity.groups) & set(self.groups)))

    def allows(self, attributes: Attributes) -> bool:
        if self.read_only and attributes.verb not in READ_ONLY_VERBS:
            return False
        if not _in(attributes.verb, self.verbs):
            return False
        if not attributes.resource_request:
            return non_resource_url_matches(self.non_resource_urls, attributes.path)
        if self.non_resource_urls and not self.read_only:
            return False
        if not self.allow_secrets and attributes.resource == "secrets":
            return False
        if self.read_only and attributes.subresource in READ_ONLY_EXCLUDED_SUBRESOURCES:
            return False
        return (_in(attributes.api_group, self.api_groups)
                and resource_matches(self.resources, attributes.resource, attributes.subresource)
                and _in(attributes.namespace or "", self.namespaces))


def _in(value: str, allowed: tuple[str, ...]) -> bool:
    return "*" in allowed or value in allowed


def resource_matches(rule_resources: tuple[str, ...], resource: str, subresource: str) -> bool:
    """RBAC's ResourceMatches: `*`, the exact `resource[/subresource]`, or `*/subresource`.

    `pods` does not match `pods/log`, and `pods/*` matches only a subresource named `*`.
    """
    combined = f"{resource}/{subresource}" if subresource else resource
    for rule_resource in rule_resources:
        if rule_resource in ("*", combined):
            return True
        if subresource and rule_resource == f"*/{subresource}":
            return True
    return False


def non_resource_url_matches(rule_urls: tuple[str, ...], path: str) -> bool:
    """RBAC's NonResourceURLMatches: `*`, the exact path, or a prefix given as `prefix*`."""
    return any(
        url == "*" or url == path or (url.endswith("*") and path.startswith(url.rstrip("*")))
        for url in rule_urls
    )


@dataclass(frozen=True)
class Policy:
    rules: tuple[Rule, ...]

    def allows(self, identity: Identity, attributes: Attributes) -> tuple[bool, str]:
        for rule in self.rules:
            if rule.applies_to(identity) and rule.allows(attributes):
                return True, ""
        return False, "no rule of the proxy's policy allows it"


def load_policy(path: Path) -> Policy:
    """Parse the policy file; errors name the file and the rule."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"--policy {path}: cannot read: {exc}") from None
    rules = document.get("rules") if isinstance(document, Mapping) else None
    if not isinstance(rules, list) or not rules:
        raise ConfigError(f"--policy {path}: expected a mapping with a non-empty `rules` list")
    return Policy(tuple(_rule(path, index, item) for index, item in enumerate(rules)))


def _rule(path: Path, index: int, item: Any) -> Rule:
    where = f"--policy {path}: rules[{index}]"
    if not isinstance(item, Mapping):
        raise ConfigError(f"{where}: must be a mapping")
    unknown = set(item) - _FIELDS
    if unknown:
        raise ConfigError(f"{where}: unknown fields {sorted(unknown)}")

    def strings(key: str, default: tuple[str, ...]) -> tuple[str, ...]:
        value = item.get(key)
        if value is None:
            return default
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{where}.{key}: must be a list of strings")
        return tuple(value)

    scope = item.get("scope")
    if scope not in (None, "read-only"):
        raise ConfigError(f"{where}.scope: the only scope is read-only")
    users, groups = strings("users", ()), strings("groups", ())
    if not users and not groups:
        raise ConfigError(f"{where}: names no users and no groups")
    read_only = scope == "read-only"
    return Rule(
        users=users, groups=groups,
        verbs=strings("verbs", READ_ONLY_VERBS if read_only else ("*",)),
        api_groups=strings("apiGroups", ("*",)), resources=strings("resources", ("*",)),
        namespaces=strings("namespaces", ("*",)),
        non_resource_urls=strings("nonResourceURLs", ("*",) if read_only else ()),
        read_only=read_only,
        allow_secrets=bool(item.get("allowSecrets", not read_only)),
    )
