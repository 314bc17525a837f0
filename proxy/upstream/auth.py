"""Who the proxy is upstream: the credential put on every request last, and a 401 handled once.

Sanitise, then inject, then send: the headers handed in are already free of the
client's identity (proxy/headers.py); this adds the impersonation headers and
the credential after that, so nothing the client sent can override them, and a
client's `Authorization` never reaches the API server. On a 401 the credential
is invalidated (a refreshing source fetches a new one), and a request without a
body, which can be sent again as it was, is retried once with the new one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from aiohttp import hdrs
from multidict import CIMultiDict

from proxy.credentials.base import Credential, CredentialSource
from proxy.credentials.impersonation import caller_impersonation_headers
from proxy.identity import ACTING_FOR
from proxy.upstream.tls import UpstreamTLS
from proxy.upstream.transport import (
    Dialed,
    Dialer,
    RequestBody,
    RequestHead,
    Response,
    Transport,
)

UNAUTHORIZED = 401


@dataclass(frozen=True)
class AuthPolicy:
    """The credential of one source, on requests through any transport or dialer.

    `identity_headers` are the kubeconfig's impersonation (`as:`); when the proxy
    acts for an authenticated caller (`ACTING_FOR`), the caller's impersonation
    replaces them, except on the proxy's own calls (`for_caller=False`). `tls`
    turns a client certificate into the TLS context it is presented with; None
    for plain http.
    """

    credentials: CredentialSource
    tls: UpstreamTLS | None = None
    identity_headers: tuple[tuple[str, str], ...] = ()

    def with_credentials(self, credentials: CredentialSource) -> AuthPolicy:
        """The same policy acting as another source (the proxy's own calls choose theirs)."""
        return dataclasses.replace(self, credentials=credentials)

    def authorize(
        self,
        method: str,
        target: str,
        headers: CIMultiDict[str],
        credential: Credential,
        *,
        for_caller: bool = True,
    ) -> RequestHead:
        """A copy of the sanitised `headers` with impersonation and the credential added last."""
        outbound = headers.copy()
        outbound.popall(hdrs.AUTHORIZATION, None)
        caller = ACTING_FOR.get() if for_caller else None
        if caller is not None:
            outbound.extend(caller_impersonation_headers(caller))
        else:
            for name, value in self.identity_headers:
                outbound.add(name, value)
        if credential.authorization is not None:
            outbound[hdrs.AUTHORIZATION] = credential.authorization
        tls = None if self.tls is None else self.tls.context_for(credential.client_certificate)
        return RequestHead(method=method, target=target, headers=outbound, tls=tls)

    def refused(self, status: int, credential: Credential) -> bool:
        """Whether the API server refused `credential` (401); if so the source drops it."""
        if status != UNAUTHORIZED:
            return False
        self.credentials.invalidate(credential)
        return True

    async def send(
        self,
        transport: Transport,
        method: str,
        target: str,
        *,
        headers: CIMultiDict[str],
        body: RequestBody = None,
        for_caller: bool = True,
    ) -> Response:
        """The answer, after at most one retry: on a 401 to a request without a body (nothing
        to replay), when the source has a different credential to offer."""
        credential = await self.credentials.credential()
        request = self.authorize(method, target, headers, credential, for_caller=for_caller)
        response = await transport.send(request, body)
        if not self.refused(response.head.status, credential) or body is not None:
            return response
        fresh = await self.credentials.credential()
        if fresh == credential:
            return response
        response.body.close()
        request = self.authorize(method, target, headers, fresh, for_caller=for_caller)
        return await transport.send(request, None)

    @asynccontextmanager
    async def dial(
        self, dialer: Dialer, method: str, target: str, *, headers: CIMultiDict[str], body: bytes
    ) -> AsyncIterator[Dialed]:
        """An upgrade's connection with the credential on its request. A 401 is reported to
        the source but not retried (client-go retries none): the client gets the answer, and
        its next attempt the new credential."""
        credential = await self.credentials.credential()
        request = self.authorize(method, target, headers, credential)
        async with dialer.dial(request, body) as dialed:
            self.refused(dialed.head.status, credential)
            yield dialed
