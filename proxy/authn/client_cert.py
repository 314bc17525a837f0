"""Callers authenticated by the client certificate the listener verified: CN user, O groups."""

from __future__ import annotations

from typing import Any

from proxy.identity import Identity


def identity_from_peercert(peercert: Any) -> Identity | None:
    """The identity in `ssl.SSLSocket.getpeercert()`'s answer; None without a verified cert."""
    if not peercert:
        return None
    user, groups = None, []
    for rdn in peercert.get("subject", ()):
        for name, value in rdn:
            if name == "commonName" and user is None:
                user = value
            elif name == "organizationName":
                groups.append(value)
    if not user:
        return None
    return Identity(user=user, groups=tuple(groups))
