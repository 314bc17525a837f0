"""Impersonation named in the kubeconfig (`as`, `as-groups`, `as-uid`, `as-user-extra`)."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote

from proxy.headers import (
    IMPERSONATE_EXTRA_PREFIX,
    IMPERSONATE_GROUP,
    IMPERSONATE_UID,
    IMPERSONATE_USER,
)
from proxy.identity import Identity
from proxy.kubeconfig.model import UserConfig


def impersonation_headers(user: UserConfig) -> tuple[tuple[str, str], ...]:
    """The `Impersonate-*` headers client-go would send for this kubeconfig user."""
    return _headers(user.impersonate, user.impersonate_uid, user.impersonate_groups,
                    user.impersonate_extra)


def caller_impersonation_headers(caller: Identity) -> tuple[tuple[str, str], ...]:
    """With --forward-as caller: act upstream as the authenticated caller."""
    return _headers(caller.user, caller.uid, caller.groups, caller.extra)


def _headers(
    user: str | None,
    uid: str | None,
    groups: tuple[str, ...],
    extra: Mapping[str, tuple[str, ...]],
) -> tuple[tuple[str, str], ...]:
    headers: list[tuple[str, str]] = []
    if user:
        headers.append((IMPERSONATE_USER, user))
    if uid:
        headers.append((IMPERSONATE_UID, uid))
    headers.extend((IMPERSONATE_GROUP, group) for group in groups)
    for key, values in extra.items():
        # Header names cannot carry every character of an extra key: client-go escapes them.
        name = "Impersonate-Extra-" + quote(key, safe="")
        assert name.lower().startswith(IMPERSONATE_EXTRA_PREFIX)
        headers.extend((name, value) for value in values)
    return tuple(headers)
