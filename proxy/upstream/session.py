"""The API server as the proxy sees it: where it is, how to reach it, and as whom.

This is the single way out: REST, watches, upgrades and the proxy's own calls
(TokenRequest, reviews, readiness, discovery) open their upstream requests
here, so the credential is put on by one `AuthPolicy` and the bytes go through
one `Transport` (or, for upgrades, its `Dialer`). What goes upstream is the
client's request plus the credential, nothing else (the transport contract).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import hdrs
from multidict import CIMultiDict

from proxy.credentials.base import CredentialSource
from proxy.errors import UpstreamUnreachableError
from proxy.upstream.auth import AuthPolicy
from proxy.upstream.choice import transport_name
from proxy.upstream.endpoint import Endpoint
from proxy.upstream.leases import Leases
from proxy.upstream.transport import Dialed, Dialer, RequestBody, Response, ResponseBody, Transport


class Upstream:
    """Opens requests to one API server with the credential injected.

    Contract of `open` and `dial`: the headers passed in are already sanitised
    (no client identity, no hop-by-hop) and `raw_path` is the client's raw
    target (path and query); the credential is added last. Failures to reach
    the API server are `UpstreamError`s (a `Status` with 502, 503 or 504); an
    answer, 401 and 403 included, is returned as it is.
    """

    def __init__(
        self,
        *,
        endpoint: Endpoint,
        transport: Transport,
        dialer: Dialer,
        auth: AuthPolicy,
        stream_transport: Transport | None = None,
        owned: tuple[Transport, ...] = (),
    ) -> None:
        self.base_url = endpoint.base_url
        self.auth = auth
        self._endpoint = endpoint
        self._transport = transport
        # Watches and followed logs (`long_lived`): their own transport, or the same one.
        self._stream_transport = stream_transport or transport
        # Started and closed here, in this order: the two above and any they use (a fallback).
        self._owned = owned or (
            (transport,) if self._stream_transport is transport
            else (transport, self._stream_transport)
        )
        self._dialer = dialer
        # Requests using this upstream: replaced by a reload, it is closed once they end.
        self.in_flight = Leases()
        self._closed = False

    @property
    def transport_names(self) -> dict[str, str]:
        """What REST and long-lived requests go over: {"rest": "http1", "stream": "http1"}."""
        return {
            "rest": transport_name(self._transport),
            "stream": transport_name(self._stream_transport),
        }

    @property
    def credentials(self) -> CredentialSource:
        """The source whose credential forwarded requests carry."""
        return self.auth.credentials

    async def start(self) -> None:
        for transport in self._owned:
            await transport.start()

    async def close(self) -> None:
        self._closed = True
        for transport in self._owned:
            await transport.close()

    @property
    def closed(self) -> bool:
        """Closed for good: replaced by a reload and idle, or the proxy stopped."""
        return self._closed

    @asynccontextmanager
    async def open(
        self,
        method: str,
        raw_path: str,
        *,
        headers: CIMultiDict[str],
        body: RequestBody = None,
        long_lived: bool = False,
    ) -> AsyncIterator[Response]:
        """The answer, with a lease on this upstream held until it is done with.

        `long_lived`: an answer that ends only when someone ends it (a watch, a
        followed log), sent over the stream transport.
        """
        transport = self._stream_transport if long_lived else self._transport
        with self.in_flight.hold():
            self._check_open()
            response = await self.auth.send(
                transport, method, self._endpoint.target(raw_path), headers=headers, body=body
            )
            try:
                yield response
            finally:
                response.body.close()

    @asynccontextmanager
    async def dial(
        self, method: str, raw_path: str, *, headers: CIMultiDict[str], body: bytes
    ) -> AsyncIterator[Dialed]:
        """An upgrade's own connection, its answer's head read; closed when the block ends."""
        with self.in_flight.hold():
            self._check_open()
            async with self.auth.dial(
                self._dialer, method, self._endpoint.target(raw_path), headers=headers, body=body
            ) as dialed:
                yield dialed

    async def request_json(
        self, method: str, raw_path: str, body: Any, credentials: CredentialSource
    ) -> tuple[int, Any]:
        """A small JSON call of the proxy's own (TokenRequest, reviews) with a given source.

        Never on a caller's behalf: the kubeconfig's impersonation applies, the
        caller's does not. The answer's body is None when it is not JSON.
        """
        headers: CIMultiDict[str] = CIMultiDict(
            {hdrs.CONTENT_TYPE: "application/json", hdrs.ACCEPT: "application/json"}
        )
        payload = json.dumps(body).encode() if body is not None else None
        auth = self.auth.with_credentials(credentials)
        with self.in_flight.hold():
            self._check_open()
            response = await auth.send(
                self._transport,
                method,
                self._endpoint.target(raw_path),
                headers=headers,
                body=payload,
                for_caller=False,
            )
            try:
                data = await read_all(response.body)
            finally:
                response.body.close()
        try:
            return response.head.status, json.loads(data) if data.strip() else None
        except ValueError:
            return response.head.status, None

    def _check_open(self) -> None:
        if self._closed:
            # Chosen before a reload replaced it, and used after it was closed: rare, retryable.
            raise UpstreamUnreachableError(
                f"the connections to {self.base_url} were closed after a kubeconfig reload"
            )


async def read_all(body: ResponseBody) -> bytes:
    """A whole (small) body."""
    pieces = []
    while piece := await body.read():
        pieces.append(piece)
    return b"".join(pieces)
