"""The kubeconfig as frozen data. Every entry remembers the file it came from, for messages."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class ClusterConfig:
    name: str
    file: str
    server: str
    certificate_authority: Path | None = None
    certificate_authority_data: bytes | None = None
    insecure_skip_tls_verify: bool = False
    tls_server_name: str | None = None

    def field_name(self, key: str) -> str:
        return f"clusters[name={self.name}].cluster.{key}"


@dataclass(frozen=True)
class UserConfig:
    name: str
    file: str
    token: str | None = field(default=None, repr=False)
    token_file: Path | None = None
    client_certificate: Path | None = None
    client_key: Path | None = None
    client_certificate_data: bytes | None = field(default=None, repr=False)
    client_key_data: bytes | None = field(default=None, repr=False)
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    impersonate: str | None = None
    impersonate_uid: str | None = None
    impersonate_groups: tuple[str, ...] = ()
    impersonate_extra: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # Kept whole for the credential sources that read them (exec plugins, auth providers).
    exec: Mapping[str, Any] | None = field(default=None, repr=False)
    auth_provider: Mapping[str, Any] | None = field(default=None, repr=False)

    def field_name(self, key: str) -> str:
        return f"users[name={self.name}].user.{key}"

    @property
    def has_client_certificate(self) -> bool:
        return bool(self.client_certificate or self.client_certificate_data)


@dataclass(frozen=True)
class ContextConfig:
    name: str
    file: str
    cluster: str
    user: str
    namespace: str | None = None


@dataclass(frozen=True)
class Kubeconfig:
    """One or more kubeconfig files merged the way client-go merges $KUBECONFIG."""

    files: tuple[str, ...]
    clusters: Mapping[str, ClusterConfig]
    users: Mapping[str, UserConfig]
    contexts: Mapping[str, ContextConfig]
    current_context: str | None
    current_context_file: str | None = None


@dataclass(frozen=True)
class ResolvedContext:
    """What the proxy acts with: one cluster and one user."""

    context: str | None
    cluster: ClusterConfig
    user: UserConfig
    namespace: str | None = None
