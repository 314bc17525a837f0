"""Service-account tokens issued with an expiry, and accepted until it passes."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

MIN_EXPIRATION_SECONDS = 600


@dataclass(frozen=True)
class IssuedToken:
    user: str
    groups: tuple[str, ...]
    audiences: tuple[str, ...]
    expires: dt.datetime


@dataclass
class TokenIssuer:
    """Tokens this server issued; `max_expiration` caps lifetimes as a real server may."""

    clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)
    max_expiration: int | None = None
    issued: dict[str, IssuedToken] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)  # (requester, service account)

    def issue(
        self, *, user: str, groups: tuple[str, ...], audiences: tuple[str, ...], seconds: int
    ) -> tuple[str, IssuedToken]:
        if self.max_expiration is not None:
            seconds = min(seconds, self.max_expiration)
        token = "sa." + secrets.token_urlsafe(24)
        issued = IssuedToken(
            user,
            groups,
            audiences,
            self.clock().replace(microsecond=0) + dt.timedelta(seconds=seconds),
        )
        self.issued[token] = issued
        return token, issued

    def lookup(self, token: str) -> IssuedToken | None:
        issued = self.issued.get(token)
        if issued is None or issued.expires <= self.clock():
            return None
        return issued
