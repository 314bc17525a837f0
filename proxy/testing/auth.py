"""Authentication as the apiserver's union authenticator does it: any method that succeeds wins.

Bearer tokens, basic auth and verified client certificates are tried in turn; a
request none of them accepts gets the apiserver's 401 Status.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field

from aiohttp import hdrs, web

from proxy.testing.issued_tokens import TokenIssuer
from proxy.testing.pki import identity_from_peercert


@dataclass(frozen=True)
class User:
    name: str
    groups: tuple[str, ...] = ()


@dataclass(frozen=True)
class Authenticator:
    """Known bearer tokens (token -> user) and basic-auth users (user -> password)."""

    tokens: Mapping[str, str] = field(default_factory=dict)
    basic_users: Mapping[str, str] = field(default_factory=dict)
    issuer: TokenIssuer = field(default_factory=TokenIssuer)

    def user_for_token(self, token: str) -> User | None:
        for known, name in self.tokens.items():
            if hmac.compare_digest(known.encode(), token.encode()):
                return User(name, ("system:authenticated",))
        issued = self.issuer.lookup(token)
        if issued is not None:
            return User(issued.user, (*issued.groups, "system:authenticated"))
        return None

    def authenticate(self, request: web.Request) -> User | None:
        scheme, _, credentials = request.headers.get(hdrs.AUTHORIZATION, "").partition(" ")
        credentials = credentials.strip()
        if scheme.lower() == "bearer" and credentials:
            user = self.user_for_token(credentials)
            if user is not None:
                return user
        elif scheme.lower() == "basic" and credentials:
            user = self._basic(credentials)
            if user is not None:
                return user
        transport = request.transport
        if transport is None:
            return None
        identity = identity_from_peercert(transport.get_extra_info("peercert"))
        if identity is None:
            return None
        return User(identity.user, (*identity.groups, "system:authenticated"))

    def _basic(self, credentials: str) -> User | None:
        try:
            decoded = base64.b64decode(credentials, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        name, sep, password = decoded.partition(":")
        expected = self.basic_users.get(name)
        if not sep or expected is None:
            return None
        if not hmac.compare_digest(expected.encode(), password.encode()):
            return None
        return User(name, ("system:authenticated",))
