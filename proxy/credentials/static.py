"""Credentials fixed in the kubeconfig: a token, a username and password, or nothing."""

from __future__ import annotations

from typing import TYPE_CHECKING

from proxy.credentials.base import Credential

if TYPE_CHECKING:
    from proxy.credentials.certificates import CertificateProvider


class StaticSource:
    """The same header for every request, with the client certificate as it is now.

    A 401 cannot be fixed by asking again, so `invalidate` does nothing; a
    certificate reloaded from disk yields a new `Credential` (and TLS context).
    """

    def __init__(
        self,
        *,
        kind: str,
        authorization: str | None = None,
        certificate: CertificateProvider | None = None,
    ):
        self._kind = kind
        self._authorization = authorization
        self._certificate = certificate
        self._credential = Credential(
            authorization=authorization,
            client_certificate=certificate.current() if certificate else None,
        )

    @property
    def kind(self) -> str:
        return self._kind

    async def credential(self) -> Credential:
        if self._certificate is not None:
            current = self._certificate.current()
            if current is not self._credential.client_certificate:
                self._credential = Credential(
                    authorization=self._authorization, client_certificate=current
                )
        return self._credential

    def invalidate(self, credential: Credential) -> None:
        return None
