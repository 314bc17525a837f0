"""Authentication as kube-apiserver chains it: client certificate, then bearer token (header or
WebSocket subprotocol); the first that succeeds wins, any that fails makes a 401, and a
request that offers nothing is anonymous (when anonymous requests are enabled).

The parsing follows k8s.io/apiserver's bearertoken and websocket protocol authenticators
exactly, down to their odd corners: `Basic` is not a bearer scheme (so: anonymous),
`bearer` in any case works, `Bearer  t` (two spaces) is ignored with a warning, and
`Bearer t junk` authenticates `t`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field

from aiohttp import hdrs, web

from proxy.testing.issued_tokens import TokenIssuer
from proxy.testing.pki import identity_from_peercert

AUTHENTICATED = "system:authenticated"
UNAUTHENTICATED = "system:unauthenticated"
ANONYMOUS = "system:anonymous"
CREDENTIAL_ID = "authentication.kubernetes.io/credential-id"
BEARER_PROTOCOL_PREFIX = "base64url.bearer.authorization.k8s.io."
WEBSOCKET_PROTOCOL = "Sec-WebSocket-Protocol"
EXTRA_SPACE_WARNING = (
    "the provided Authorization header contains extra space before the bearer token, "
    "and is ignored"
)
# The apiserver's default --api-audiences for this fake; TokenReview and service-account
# tokens are checked against it.
DEFAULT_API_AUDIENCE = "https://kubernetes.default.svc.cluster.local"


@dataclass(frozen=True)
class User:
    """user.Info: name, uid, groups and extra, as SelfSubjectReview shows them."""

    name: str
    groups: tuple[str, ...] = ()
    uid: str = ""
    extra: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @property
    def anonymous(self) -> bool:
        return self.name == ANONYMOUS

    def with_group(self, group: str) -> User:
        if group in self.groups:
            return self
        return User(self.name, (*self.groups, group), self.uid, self.extra)


ANONYMOUS_USER = User(ANONYMOUS, (UNAUTHENTICATED,))


class AuthenticationFailed(Exception):
    """A credential was offered and refused: the request gets the 401 Status."""


@dataclass(frozen=True)
class Authentication:
    """Who a request is (None only when anonymous requests are disabled) and any Warning."""

    user: User | None
    warnings: tuple[str, ...] = ()
    # The subprotocols left once a bearer-token subprotocol authenticated the request.
    websocket_protocols: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Authenticator:
    """Known bearer tokens (token -> user name, or a full User) and basic-auth users."""

    tokens: Mapping[str, str | User] = field(default_factory=dict)
    basic_users: Mapping[str, str] = field(default_factory=dict)
    issuer: TokenIssuer = field(default_factory=TokenIssuer)
    anonymous: bool = False
    api_audiences: tuple[str, ...] = (DEFAULT_API_AUDIENCE,)

    def user_for_token(self, token: str) -> User | None:
        """The user a token authenticates as, system:authenticated included."""
        for known, who in self.tokens.items():
            if hmac.compare_digest(known.encode(), token.encode()):
                user = who if isinstance(who, User) else User(who)
                return user.with_group(AUTHENTICATED)
        issued = self.issuer.lookup(token)
        if issued is not None and set(issued.audiences) & set(self.api_audiences):
            return User(
                issued.user, issued.groups, issued.uid, ((CREDENTIAL_ID, (f"JTI={issued.jti}",)),)
            ).with_group(AUTHENTICATED)
        return None

    def authenticate(self, request: web.Request) -> Authentication:
        warnings: list[str] = []
        protocols: tuple[str, ...] | None = None
        try:
            user = self._certificate(request) or self._bearer(request, warnings)
            if user is None:
                user, protocols = self._websocket_protocol(request)
        except AuthenticationFailed:
            return Authentication(None, tuple(warnings))
        if user is None and self.anonymous:
            user = ANONYMOUS_USER
        return Authentication(user, tuple(warnings), protocols)

    def _certificate(self, request: web.Request) -> User | None:
        transport = request.transport
        if transport is None:
            return None
        identity = identity_from_peercert(transport.get_extra_info("peercert"))
        if identity is None:
            return None
        der = transport.get_extra_info("ssl_object").getpeercert(binary_form=True)
        fingerprint = hashlib.sha256(der).hexdigest() if der else ""
        extra = ((CREDENTIAL_ID, (f"X509SHA256={fingerprint}",)),)
        return User(identity.user, (*identity.groups, AUTHENTICATED), extra=extra)

    def _bearer(self, request: web.Request, warnings: list[str]) -> User | None:
        header = request.headers.get(hdrs.AUTHORIZATION, "").strip()
        if not header:
            return None
        parts = header.split(" ")
        scheme = parts[0].lower()
        if scheme == "basic" and self.basic_users:
            return self._basic(header.partition(" ")[2].strip())
        if len(parts) < 2 or scheme != "bearer":
            return None
        token = parts[1]
        if not token:
            if len(parts) == 3:
                warnings.append(EXTRA_SPACE_WARNING)
            return None
        user = self.user_for_token(token)
        if user is None:
            raise AuthenticationFailed("invalid bearer token")
        return user

    def _websocket_protocol(
        self, request: web.Request
    ) -> tuple[User | None, tuple[str, ...] | None]:
        if not is_websocket_request(request):
            return None, None
        token = ""
        others: list[str] = []
        for header in request.headers.getall(WEBSOCKET_PROTOCOL, ()):
            for protocol in (p.strip() for p in header.split(",")):
                if not protocol.startswith(BEARER_PROTOCOL_PREFIX):
                    others.append(protocol)
                    continue
                if token:
                    raise AuthenticationFailed("multiple bearer tokens")
                try:
                    encoded = protocol.removeprefix(BEARER_PROTOCOL_PREFIX)
                    token = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
                except (binascii.Error, UnicodeDecodeError):
                    raise AuthenticationFailed("invalid bearer token encoding") from None
        if not token:
            return None, None
        if not others:
            raise AuthenticationFailed("missing additional subprotocol")
        user = self.user_for_token(token)
        if user is None:
            raise AuthenticationFailed("invalid bearer token")
        return user, tuple(others)

    def _basic(self, credentials: str) -> User | None:
        """Basic auth, which the real server dropped in 1.19: only when users are configured."""
        try:
            decoded = base64.b64decode(credentials, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise AuthenticationFailed("invalid basic credentials") from None
        name, sep, password = decoded.partition(":")
        expected = self.basic_users.get(name)
        if not sep or expected is None:
            raise AuthenticationFailed("invalid basic credentials")
        if not hmac.compare_digest(expected.encode(), password.encode()):
            raise AuthenticationFailed("invalid basic credentials")
        return User(name, (AUTHENTICATED,))


def is_websocket_request(request: web.Request) -> bool:
    """wsstream.IsWebSocketRequest: `Connection: upgrade` and `Upgrade: websocket`."""
    connection = request.headers.get(hdrs.CONNECTION, "").lower()
    upgrade = request.headers.get(hdrs.UPGRADE, "").lower()
    return "upgrade" in connection and upgrade == "websocket"
