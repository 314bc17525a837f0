"""The credential contract shared by every source."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class ClientCertificate:
    """A client certificate and its key, PEM encoded, already checked to belong together."""

    cert_pem: bytes = field(repr=False)
    key_pem: bytes = field(repr=False)
    fingerprint: str  # SHA-256 of the certificate: names the TLS context built from it
    subject: str
    not_after: dt.datetime


@dataclass(frozen=True)
class Credential:
    """What one upstream request authenticates with. Never logged: repr hides the secrets."""

    authorization: str | None = field(default=None, repr=False)
    client_certificate: ClientCertificate | None = None


class CredentialSource(Protocol):
    """Supplies the credential for each upstream request.

    Contract: `credential()` is awaited once per upstream request, so it must be
    cheap while its cached value is fresh; it refreshes when needed and raises
    `CredentialError` (answered as 502) only when no usable credential remains: a
    failed refresh keeps serving a still-valid cached one. `invalidate()` is
    called when the upstream answered 401 with the credential; a source that can
    refresh drops its cache, a static one does nothing. Neither may log a secret.
    """

    @property
    def kind(self) -> str:
        """A short name for logs and metrics: "token", "token-file", "client-certificate"."""
        ...

    async def credential(self) -> Credential: ...

    def invalidate(self, credential: Credential) -> None: ...
