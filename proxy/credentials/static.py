"""Credentials fixed in the kubeconfig: a token, a username and password, or nothing."""

from __future__ import annotations

from proxy.credentials.base import Credential


class StaticSource:
    """The same credential for every request; a 401 cannot be fixed by asking again."""

    def __init__(self, credential: Credential, *, kind: str):
        self._credential = credential
        self._kind = kind

    @property
    def kind(self) -> str:
        return self._kind

    async def credential(self) -> Credential:
        return self._credential

    def invalidate(self, credential: Credential) -> None:
        return None
