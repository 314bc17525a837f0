"""TokenRequest downscoping: act with a short-lived service-account token, not the kubeconfig's.

The kubeconfig's identity is used for one thing only: `POST .../serviceaccounts/NAME/token`.
Every forwarded request then carries the service account's token, renewed at
80% of its life, so a script or sidecar behind the proxy gets that account's
narrower rights (least privilege) rather than the admin's.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from proxy.credentials.base import Credential, CredentialSource
from proxy.credentials.refreshing import Expiring, renew_point, wall_clock
from proxy.credentials.timestamps import parse_rfc3339
from proxy.errors import ConfigError, CredentialError
from proxy.redact import redact_output

# (method, path, body, credential source) -> (status, JSON body)
JSONCaller = Callable[[str, str, Any, CredentialSource], Awaitable[tuple[int, Any]]]

RENEW_AT_FRACTION = 0.8
MESSAGE_LIMIT = 300


@dataclass(frozen=True)
class TokenRequestConfig:
    namespace: str
    service_account: str
    audiences: tuple[str, ...] = ()
    expiration_seconds: int = 3600

    @classmethod
    def parse(cls, target: str, *, audiences: tuple[str, ...], expiration_seconds: int
              ) -> TokenRequestConfig:
        namespace, sep, name = target.partition("/")
        if not sep or not namespace or not name or "/" in name:
            raise ConfigError(f"--token-request {target!r}: use NAMESPACE/SERVICEACCOUNT")
        if expiration_seconds < 600:
            raise ConfigError("--token-expiration: the API server's minimum is 10m")
        return cls(namespace, name, audiences, expiration_seconds)

    @property
    def path(self) -> str:
        return (f"/api/v1/namespaces/{quote(self.namespace, safe='')}/serviceaccounts/"
                f"{quote(self.service_account, safe='')}/token")


class TokenRequester:
    """Asks the API server for a service-account token with the kubeconfig's credential."""

    def __init__(self, config: TokenRequestConfig, *, identity: CredentialSource,
                 call: JSONCaller, clock: Callable[[], float] = wall_clock):
        self._config = config
        self._identity = identity
        self._call = call
        self._clock = clock

    async def request(self) -> Expiring:
        spec: dict[str, Any] = {"expirationSeconds": self._config.expiration_seconds}
        if self._config.audiences:
            spec["audiences"] = list(self._config.audiences)
        body = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": spec}
        who = f"{self._config.namespace}/{self._config.service_account}"
        status, answer = await self._call("POST", self._config.path, body, self._identity)
        if 300 <= status < 400:
            raise CredentialError(f"TokenRequest for service account {who}: the API server "
                                  f"answered a redirect ({status}) for POST {self._config.path}; "
                                  "redirects are not followed")
        if status != 201 and status != 200:
            raise CredentialError(f"TokenRequest for service account {who} was refused: "
                                  f"{status} {_status_message(answer)}".rstrip())
        token_status = answer.get("status") if isinstance(answer, dict) else None
        token = token_status.get("token") if isinstance(token_status, dict) else None
        if not isinstance(token, str) or not token:
            raise CredentialError(f"TokenRequest for service account {who}: no token in the answer")
        now = self._clock()
        expires_at = _timestamp(token_status.get("expirationTimestamp")) if isinstance(
            token_status, dict) else None
        if expires_at is None:
            expires_at = now + self._config.expiration_seconds
        return Expiring(
            credential=Credential(authorization=f"Bearer {token}"),
            expires_at=expires_at,
            renew_at=renew_point(now=now, expires_at=expires_at, fraction=RENEW_AT_FRACTION),
        )


def _status_message(answer: object) -> str:
    """The API server's `Status` message, masked as foreign text and cut short: clients see it."""
    message = answer.get("message") if isinstance(answer, dict) else None
    if not isinstance(message, str):
        return ""
    return redact_output(" ".join(message.split()))[:MESSAGE_LIMIT]


def _timestamp(value: object) -> float | None:
    return parse_rfc3339(value) if isinstance(value, str) else None
