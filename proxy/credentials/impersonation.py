"""Impersonation named in the kubeconfig (`as`, `as-groups`, `as-uid`, `as-user-extra`)."""

from __future__ import annotations

from urllib.parse import quote

from proxy.headers import (
    IMPERSONATE_EXTRA_PREFIX,
    IMPERSONATE_GROUP,
    IMPERSONATE_UID,
    IMPERSONATE_USER,
)
from proxy.kubeconfig.model import UserConfig


def impersonation_headers(user: UserConfig) -> tuple[tuple[str, str], ...]:
    """The `Impersonate-*` headers client-go would send for this user, in its order."""
    headers: list[tuple[str, str]] = []
    if user.impersonate:
        headers.append((IMPERSONATE_USER, user.impersonate))
    if user.impersonate_uid:
        headers.append((IMPERSONATE_UID, user.impersonate_uid))
    headers.extend((IMPERSONATE_GROUP, group) for group in user.impersonate_groups)
    for key, values in user.impersonate_extra.items():
        # Header names cannot carry every character of an extra key: client-go escapes them.
        name = "Impersonate-Extra-" + quote(key, safe="")
        assert name.lower().startswith(IMPERSONATE_EXTRA_PREFIX)
        headers.extend((name, value) for value in values)
    return tuple(headers)
