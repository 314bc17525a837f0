"""A bearer token read from a file that may be rotated under us (projected tokens, vault)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from proxy.clock import Clock, monotonic
from proxy.credentials.base import Credential
from proxy.errors import CredentialError

if TYPE_CHECKING:
    from proxy.credentials.certificates import CertificateProvider

log = logging.getLogger(__name__)

# client-go's cachingTokenSource re-reads a token file once a minute.
REREAD_AFTER_SECONDS = 60.0


class TokenFileSource:
    """Re-reads the token file at most once a minute, and at once after a 401.

    A failed re-read keeps serving the last good token (and says so in the log),
    as client-go does: a file briefly missing during rotation must not fail requests.
    """

    def __init__(
        self,
        path: Path,
        *,
        field: str,
        certificate: CertificateProvider | None = None,
        clock: Clock = monotonic,
        reread_after: float = REREAD_AFTER_SECONDS,
    ):
        self._path = path
        self._field = field
        self._certificate = certificate
        self._clock = clock
        self._reread_after = reread_after
        self._cached: Credential | None = None
        self._read_at = 0.0

    @property
    def kind(self) -> str:
        return "token-file"

    def load(self) -> Credential:
        """Read the file now; raises CredentialError naming the file when it cannot."""
        try:
            token = self._path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            reason = exc.strerror.lower() if exc.strerror else type(exc).__name__
            raise CredentialError(f"{self._field}: cannot read {self._path}: {reason}") from None
        except UnicodeDecodeError:
            raise CredentialError(f"{self._field}: {self._path} is not text") from None
        if not token:
            raise CredentialError(f"{self._field}: {self._path} is empty")
        self._cached = Credential(
            authorization=f"Bearer {token}",
            client_certificate=self._certificate.current() if self._certificate else None,
        )
        self._read_at = self._clock()
        return self._cached

    async def credential(self) -> Credential:
        cached = self._cached
        if cached is not None and self._clock() - self._read_at < self._reread_after:
            if self._certificate is None or (
                self._certificate.current() is cached.client_certificate
            ):
                return cached
            return self.load()
        try:
            return self.load()
        except CredentialError as exc:
            if cached is None:
                raise
            log.warning("%s; still using the token read before", exc)
            self._read_at = self._clock()
            return cached

    def invalidate(self, credential: Credential) -> None:
        if credential is self._cached:
            self._read_at = float("-inf")
