"""A fake OpenID Connect issuer: discovery, and a token endpoint that refreshes id-tokens.

Its id-tokens are JWT-shaped (unsigned: the fake API server trusts what the
issuer registers with it, as a real one would verify the signature).
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import trustme
from aiohttp import web

from proxy.testing.pki import build_server_ssl_context
from proxy.testing.server import FakeAPIServer


def _segment(value: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


@dataclass
class FakeOIDCIssuer:
    """Issues id-tokens for `subject` that the API server accepts until they expire."""

    apiserver: FakeAPIServer
    client_id: str = "kube-auth-proxy"
    client_secret: str = "oidc-client-secret"
    lifetime: float = 3600.0
    clock: Callable[[], float] = time.time
    ca: trustme.CA | None = None
    refreshes: int = 0
    refresh_tokens: dict[str, str] = field(default_factory=dict)  # refresh token -> subject
    _runner: web.AppRunner | None = None
    port: int = 0

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def issue(self, subject: str, *, lifetime: float | None = None) -> tuple[str, str]:
        """A fresh (id-token, refresh-token) pair, as a login would give."""
        now = self.clock()
        claims = {
            "iss": self.url,
            "sub": subject,
            "aud": self.client_id,
            "iat": int(now),
            "exp": int(now + (self.lifetime if lifetime is None else lifetime)),
            "jti": secrets.token_hex(4),
        }
        id_token = f"{_segment({'alg': 'none', 'typ': 'JWT'})}.{_segment(claims)}.fake"
        self.apiserver.add_token(id_token, subject)
        refresh_token = "rt." + secrets.token_urlsafe(16)
        self.refresh_tokens[refresh_token] = subject
        return id_token, refresh_token

    async def start(self) -> None:
        app = web.Application()
        app[ISSUER] = self
        app.router.add_get("/.well-known/openid-configuration", _discovery)
        app.router.add_post("/token", _token)
        ca = self.ca or self.apiserver.ca
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(
            runner,
            "127.0.0.1",
            0,
            ssl_context=build_server_ssl_context(ca, hostnames=("127.0.0.1",)),
        )
        await site.start()
        self._runner = runner
        self.port = runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeOIDCIssuer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()


ISSUER = web.AppKey("fake_oidc_issuer", FakeOIDCIssuer)


async def _discovery(request: web.Request) -> web.Response:
    issuer = request.app[ISSUER]
    return web.json_response(
        {
            "issuer": issuer.url,
            "token_endpoint": f"{issuer.url}/token",
            "authorization_endpoint": f"{issuer.url}/auth",
            "jwks_uri": f"{issuer.url}/keys",
            "response_types_supported": ["code"],
            "id_token_signing_alg_values_supported": ["none"],
        }
    )


async def _token(request: web.Request) -> web.Response:
    issuer = request.app[ISSUER]
    form = await request.post()
    if (
        form.get("client_id") != issuer.client_id
        or form.get("client_secret") != issuer.client_secret
    ):
        return web.json_response({"error": "invalid_client"}, status=401)
    refresh_token = str(form.get("refresh_token", ""))
    subject = issuer.refresh_tokens.pop(refresh_token, None)
    if form.get("grant_type") != "refresh_token" or subject is None:
        return web.json_response({"error": "invalid_grant"}, status=400)
    issuer.refreshes += 1
    id_token, rotated = issuer.issue(subject)
    return web.json_response(
        {
            "access_token": "unused",
            "token_type": "Bearer",
            "id_token": id_token,
            "refresh_token": rotated,
            "expires_in": int(issuer.lifetime),
        }
    )
