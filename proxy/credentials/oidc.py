"""The legacy `oidc` auth-provider: an id-token used until it expires, then refreshed.

The refresh goes to the issuer's token endpoint (found through its discovery
document) with the refresh token, and the new tokens are written back into the
kubeconfig file the user came from, as kubectl does, so the next kubectl or
proxy start uses them too.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from yarl import URL

from proxy.credentials.base import Credential
from proxy.credentials.client_cert import read_material
from proxy.credentials.refreshing import Expiring
from proxy.errors import CredentialError, KubeconfigError
from proxy.kubeconfig.model import UserConfig
from proxy.kubeconfig.writer import update_auth_provider_config

log = logging.getLogger(__name__)

# client-go treats an id-token as expired this long before its `exp`.
EXPIRY_DELTA_SECONDS = 10.0
REQUEST_TIMEOUT_SECONDS = 30.0
OTHER_PROVIDERS = {
    "gcp": "use the gke-gcloud-auth-plugin exec plugin "
           "(https://cloud.google.com/kubernetes-engine/docs/how-to/cluster-access-for-kubectl)",
    "azure": "use kubelogin as an exec plugin (https://azure.github.io/kubelogin/)",
}


@dataclass(frozen=True)
class OIDCConfig:
    issuer_url: str
    client_id: str
    client_secret: str | None = field(default=None, repr=False)
    id_token: str | None = field(default=None, repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    ca_pem: bytes | None = None
    extra_scopes: str | None = None


def parse_oidc_config(user: UserConfig) -> OIDCConfig:
    provider = user.auth_provider or {}
    name = provider.get("name")
    where = user.field_name("auth-provider")
    if name in OTHER_PROVIDERS:
        raise KubeconfigError(
            f'auth-provider "{name}" was removed from Kubernetes clients: {OTHER_PROVIDERS[name]}',
            file=user.file, field=f"{where}.name",
        )
    if name != "oidc":
        raise KubeconfigError(f"unknown auth-provider {name!r}: only oidc is supported",
                              file=user.file, field=f"{where}.name")
    config = provider.get("config") or {}
    if not isinstance(config, Mapping):
        raise KubeconfigError("must be a mapping", file=user.file, field=f"{where}.config")

    def text(key: str) -> str | None:
        value = config.get(key)
        return str(value) if value not in (None, "") else None

    issuer, client_id = text("idp-issuer-url"), text("client-id")
    for key, value in (("idp-issuer-url", issuer), ("client-id", client_id)):
        if value is None:
            raise KubeconfigError("missing", file=user.file, field=f"{where}.config.{key}")
    ca_pem = None
    ca_data, ca_file = text("idp-certificate-authority-data"), text("idp-certificate-authority")
    if ca_data is not None:
        try:
            ca_pem = base64.b64decode("".join(ca_data.split()), validate=True)
        except ValueError:
            raise KubeconfigError("not valid base64", file=user.file,
                                  field=f"{where}.config.idp-certificate-authority-data") from None
    elif ca_file is not None:
        path = Path(ca_file)
        if not path.is_absolute():
            path = Path(user.file).parent / path
        ca_pem = read_material(None, path, file=user.file,
                               field=f"{where}.config.idp-certificate-authority")
    if text("id-token") is None and text("refresh-token") is None:
        raise KubeconfigError("neither id-token nor refresh-token is set: log in first "
                              "(e.g. kubectl oidc-login)", file=user.file, field=f"{where}.config")
    assert issuer is not None and client_id is not None
    return OIDCConfig(
        issuer_url=issuer.rstrip("/"), client_id=client_id, client_secret=text("client-secret"),
        id_token=text("id-token"), refresh_token=text("refresh-token"), ca_pem=ca_pem,
        extra_scopes=text("extra-scopes"),
    )


def id_token_expiry(token: str) -> float | None:
    """The `exp` claim of a JWT, unverified: the API server verifies; we only schedule."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return float(claims["exp"])
    except (IndexError, ValueError, KeyError, TypeError):
        return None


class OIDCRefresher:
    """Trades the refresh token for new tokens and saves them to the kubeconfig."""

    def __init__(self, config: OIDCConfig, *, user: UserConfig,
                 save: Callable[..., None] = update_auth_provider_config):
        self._config = config
        self._user = user
        self._refresh_token = config.refresh_token
        self._save = save
        self._ssl = ssl.create_default_context(
            cadata=config.ca_pem.decode() if config.ca_pem else None
        )

    def initial(self) -> Expiring | None:
        """The id-token already in the kubeconfig, if it is a token we can schedule."""
        token = self._config.id_token
        if token is None:
            return None
        return self._expiring(token)

    async def refresh(self) -> Expiring:
        if not self._refresh_token:
            raise CredentialError("the OIDC id-token expired and there is no refresh-token: "
                                  "log in again")
        timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_SECONDS)
        try:
            async with aiohttp.ClientSession(timeout=timeout) as session:
                endpoint = await self._token_endpoint(session)
                form = {"grant_type": "refresh_token", "refresh_token": self._refresh_token,
                        "client_id": self._config.client_id}
                if self._config.client_secret:
                    form["client_secret"] = self._config.client_secret
                # A redirect would re-send the refresh token and client secret elsewhere.
                async with session.post(endpoint, data=form, ssl=self._ssl,
                                        allow_redirects=False) as response:
                    body = await _json_body(response, "token endpoint", endpoint)
        except aiohttp.ClientError as exc:
            raise CredentialError(
                f"OIDC issuer {endpoint_name(self._config.issuer_url)} unreachable: "
                f"{type(exc).__name__}"
            ) from None
        id_token = body.get("id_token")
        if not isinstance(id_token, str) or not id_token:
            raise CredentialError("the OIDC token response did not contain an id_token")
        refresh_token = body.get("refresh_token")
        if isinstance(refresh_token, str) and refresh_token:
            self._refresh_token = refresh_token
        self._persist(id_token)
        return self._expiring(id_token)

    async def _token_endpoint(self, session: aiohttp.ClientSession) -> str:
        url = f"{self._config.issuer_url}/.well-known/openid-configuration"
        async with session.get(url, ssl=self._ssl, allow_redirects=False) as response:
            document = await _json_body(response, "discovery document", url)
        endpoint = document.get("token_endpoint")
        if not isinstance(endpoint, str) or not endpoint.startswith("https://"):
            raise CredentialError(f"{endpoint_name(url)} names no https token_endpoint")
        return endpoint

    def _persist(self, id_token: str) -> None:
        values = {"id-token": id_token}
        if self._refresh_token:
            values["refresh-token"] = self._refresh_token
        field = f"{self._user.field_name('auth-provider')}.config"
        try:
            self._save(Path(self._user.file), user=self._user.name, values=values)
        except KubeconfigError as exc:
            # The error names the file and field only: never quote the file's content.
            log.warning("OIDC tokens refreshed but not saved to %s (%s): %s",
                        self._user.file, exc.field or field, exc.detail)
        except OSError as exc:
            log.warning("OIDC tokens refreshed but not saved to %s (%s): %s", self._user.file,
                        field, (exc.strerror or type(exc).__name__).lower())

    def _expiring(self, token: str) -> Expiring:
        expires_at = id_token_expiry(token)
        renew_at = expires_at - EXPIRY_DELTA_SECONDS if expires_at is not None else None
        return Expiring(credential=Credential(authorization=f"Bearer {token}"),
                        expires_at=expires_at, renew_at=renew_at)


def endpoint_name(url: str) -> str:
    """A URL fit for a message: no query, fragment or userinfo (they may carry secrets)."""
    try:
        parsed = URL(url)
    except ValueError:
        return "(an unparsable URL)"
    if not parsed.is_absolute():
        return "(a relative URL)"
    return str(parsed.with_user(None).with_query(None).with_fragment(None))


async def _json_body(response: aiohttp.ClientResponse, what: str, url: str) -> dict[str, Any]:
    if 300 <= response.status < 400:
        raise CredentialError(f"OIDC {what} {endpoint_name(url)} answered a redirect "
                              f"({response.status}); redirects are not followed")
    if response.status != 200:
        raise CredentialError(f"OIDC {what} answered {response.status}"
                              + await _oauth_error(response))
    try:
        body = await response.json(content_type=None)
    except ValueError:
        raise CredentialError(f"OIDC {what} answered with something that is not JSON") from None
    if not isinstance(body, dict):
        raise CredentialError(f"OIDC {what} answered with JSON that is not an object")
    return body


async def _oauth_error(response: aiohttp.ClientResponse) -> str:
    """The OAuth `error` code (`invalid_grant`), when it is one: never free text."""
    try:
        body = await response.json(content_type=None)
    except (ValueError, aiohttp.ClientError):
        return ""
    code = body.get("error") if isinstance(body, dict) else None
    return f" ({code})" if isinstance(code, str) and _OAUTH_ERROR_CODE.fullmatch(code) else ""


_OAUTH_ERROR_CODE = re.compile(r"[a-z_]{1,40}")
