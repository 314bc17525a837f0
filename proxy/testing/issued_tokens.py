"""Service-account tokens: ES256 JWTs with the apiserver's claims, accepted until they expire.

The signing key is published at /openid/v1/jwks, so a client can verify a token offline
the way it would against a real cluster.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

MIN_EXPIRATION_SECONDS = 600
MAX_EXPIRATION_SECONDS = 2**32
ISSUER = "https://kubernetes.default.svc"
SERVICE_ACCOUNT_PREFIX = "system:serviceaccount:"


@dataclass(frozen=True)
class IssuedToken:
    user: str
    groups: tuple[str, ...]
    audiences: tuple[str, ...]
    expires: dt.datetime
    uid: str = ""
    jti: str = ""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@functools.cache
def signing_key() -> ec.EllipticCurvePrivateKey:
    """One key per process: generating it per server would slow every test down."""
    return ec.generate_private_key(ec.SECP256R1())


def key_id() -> str:
    numbers = signing_key().public_key().public_numbers()
    return _b64(hashlib.sha256(f"{numbers.x}:{numbers.y}".encode()).digest())


def jwks() -> dict[str, Any]:
    """The JSON Web Key Set /openid/v1/jwks serves."""
    numbers = signing_key().public_key().public_numbers()
    key = {
        "use": "sig",
        "kty": "EC",
        "kid": key_id(),
        "crv": "P-256",
        "alg": "ES256",
        "x": _b64(numbers.x.to_bytes(32, "big")),
        "y": _b64(numbers.y.to_bytes(32, "big")),
    }
    return {"keys": [key]}


def _sign(claims: dict[str, Any]) -> str:
    header = {"alg": "ES256", "kid": key_id()}
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    der = signing_key().sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    return f"{signing_input}.{_b64(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


@dataclass
class TokenIssuer:
    """Tokens this server issued; `max_expiration` caps lifetimes as a real server may."""

    clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)
    max_expiration: int | None = None
    issued: dict[str, IssuedToken] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)  # (requester, service account)

    def issue(
        self,
        *,
        user: str,
        groups: tuple[str, ...],
        audiences: tuple[str, ...],
        seconds: int,
        uid: str = "",
    ) -> tuple[str, IssuedToken]:
        if self.max_expiration is not None:
            seconds = min(seconds, self.max_expiration)
        now = self.clock().replace(microsecond=0)
        issued = IssuedToken(
            user, groups, audiences, now + dt.timedelta(seconds=seconds), uid, str(uuid.uuid4())
        )
        claims: dict[str, Any] = {
            "aud": list(audiences),
            "exp": int(issued.expires.timestamp()),
            "iat": int(now.timestamp()),
            "iss": ISSUER,
            "jti": issued.jti,
            "nbf": int(now.timestamp()),
            "sub": user,
        }
        if user.startswith(SERVICE_ACCOUNT_PREFIX):
            namespace, _, name = user.removeprefix(SERVICE_ACCOUNT_PREFIX).partition(":")
            claims["kubernetes.io"] = {
                "namespace": namespace,
                "serviceaccount": {"name": name, "uid": uid},
            }
        token = _sign(claims)
        self.issued[token] = issued
        return token, issued

    def lookup(self, token: str) -> IssuedToken | None:
        issued = self.issued.get(token)
        if issued is None or issued.expires <= self.clock():
            return None
        return issued
