"""The API server as the proxy sees it: one pooled session, the base URL, the credential.

This is the single injection point: REST, watch and upgrades all open their
upstream request here, so the credential and TLS are handled once. What goes
upstream is the client's request plus the credential: aiohttp's own additions
(`User-Agent`, `Accept`, `Accept-Encoding`, a default `Content-Type`, a
`Content-Length: 0` for a bodiless DELETE) are kept out by `exact_headers`.
"""

from __future__ import annotations

import json
import logging
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import hdrs
from multidict import CIMultiDict
from yarl import URL

from proxy.credentials.base import Credential, CredentialSource
from proxy.credentials.impersonation import caller_impersonation_headers
from proxy.errors import (
    KubeconfigError,
    ProxyError,
    UpstreamError,
    UpstreamTimeoutError,
    UpstreamTLSError,
    UpstreamUnreachableError,
)
from proxy.identity import ACTING_FOR
from proxy.kubeconfig.model import ClusterConfig
from proxy.upstream.leases import Leases
from proxy.upstream.tls import UpstreamTLS

log = logging.getLogger(__name__)

# What aiohttp would add by itself; `exact_headers` removes the rest of its additions.
_AUTO_HEADERS = (hdrs.USER_AGENT, hdrs.ACCEPT, hdrs.ACCEPT_ENCODING, hdrs.CONTENT_TYPE)
ClientHandler = Callable[[aiohttp.ClientRequest], Awaitable[aiohttp.ClientResponse]]
ClientMiddleware = Callable[
    [aiohttp.ClientRequest, ClientHandler], Awaitable[aiohttp.ClientResponse]
]


def exact_headers(intended: CIMultiDict[str], *, has_body: bool) -> ClientMiddleware:
    """A per-request client middleware: the request goes out with `Host`, `intended`, and
    nothing else but the body's framing.

    aiohttp builds the header set itself: it adds `Content-Length: 0` to a DELETE
    or POST without a body, and its merge of the caller's headers keeps only the
    last of repeated names spelled in different case (`X-A: 1`, `x-a: 2`). The
    framing it derived from the body (`Transfer-Encoding: chunked` for a body of
    unknown length, `Content-Length` for bytes) is kept when there is a body and
    `intended` does not frame it already. Its default `Content-Type` is added after
    this runs: the session's `skip_auto_headers` keeps that one out.
    """
    framing = (hdrs.CONTENT_LENGTH, hdrs.TRANSFER_ENCODING)

    async def middleware(
        request: aiohttp.ClientRequest, handler: ClientHandler
    ) -> aiohttp.ClientResponse:
        derived = [
            (name, request.headers[name])
            for name in framing
            if has_body and name in request.headers and name not in intended
        ]
        host = request.headers[hdrs.HOST]
        request.headers.clear()
        request.headers[hdrs.HOST] = host
        request.headers.extend(intended)
        request.headers.extend(derived)
        return await handler(request)

    return middleware


def upstream_base_url(cluster: ClusterConfig, *, append_server_path: bool) -> str:
    """`scheme://host:port[/prefix]` with no trailing slash; raw request paths are appended."""
    server = cluster.server
    if "://" not in server:
        # client-go's DefaultServerURL: https when anything about TLS is configured.
        tls = bool(
            cluster.certificate_authority
            or cluster.certificate_authority_data
            or cluster.insecure_skip_tls_verify
        )
        server = ("https://" if tls else "http://") + server
    try:
        url = URL(server, encoded=True)
        valid = url.scheme in ("http", "https") and bool(url.host)
    except ValueError:
        valid = False
    if not valid:
        raise KubeconfigError(
            f"not an http(s) URL: {cluster.server!r}",
            file=cluster.file,
            field=cluster.field_name("server"),
        )
    base = f"{url.scheme}://{url.raw_authority}"
    if append_server_path:
        base += url.raw_path.rstrip("/")
    return base


@dataclass(frozen=True)
class DirectRequest:
    """What a caller that speaks HTTP/1.1 itself (upgrades) needs: where, how, and as whom.

    `headers` already carry the credential; `ssl` is None for plain http. Never log it.
    """

    host: str
    port: int
    authority: str  # for the Host header
    target: str  # the request target: server path prefix + raw path
    headers: CIMultiDict[str]
    ssl: ssl.SSLContext | None
    server_hostname: str | None
    connect_timeout: float
    keepalive: float
    credential: Credential


class Upstream:
    """Opens requests to the API server with the credential injected.

    Contract of `open`: the headers passed in are already sanitised (no
    client identity, no hop-by-hop); `open` adds the credential last, so
    nothing the client sent can override it. Failures to connect become
    `UpstreamError`s (a `Status` with 502, 503 or 504); an upstream answer,
    401 and 403 included, is returned as it is.
    """

    def __init__(
        self,
        *,
        cluster: ClusterConfig,
        credentials: CredentialSource,
        tls: UpstreamTLS,
        identity_headers: tuple[tuple[str, str], ...] = (),
        append_server_path: bool = True,
        connect_timeout: float = 30.0,
        keepalive: float = 0.0,
    ):
        self.base_url = upstream_base_url(cluster, append_server_path=append_server_path)
        self.credentials = credentials
        self._tls = tls if self.base_url.startswith("https:") else None
        self._identity_headers = identity_headers
        self._connect_timeout = connect_timeout
        self._keepalive = keepalive
        self._session: aiohttp.ClientSession | None = None
        # Requests using this upstream: replaced by a reload, it is closed once they end.
        self.in_flight = Leases()
        self._closed = False
        if self._tls is None and self.base_url.startswith("http:"):
            log.warning(
                "%s: %s is plain http: credentials cross the network unencrypted",
                cluster.file,
                cluster.field_name("server"),
            )

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(
            limit=0,  # watches hold connections: no pool cap, as Go's transport
            keepalive_timeout=90,
            socket_factory=self._make_socket,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,
            skip_auto_headers=_AUTO_HEADERS,
            # Connecting includes the TLS handshake: a server that accepts and then
            # says nothing must not hold the request forever.
            timeout=aiohttp.ClientTimeout(
                total=None, connect=self._connect_timeout, sock_connect=self._connect_timeout
            ),
            read_bufsize=2**18,
        )

    async def close(self) -> None:
        self._closed = True
        if self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def closed(self) -> bool:
        """Closed for good: replaced by a reload and idle, or the proxy stopped."""
        return self._closed

    def url_for(self, raw_path: str) -> URL:
        """The upstream URL for a raw request target: nothing decoded, nothing re-encoded."""
        return URL(self.base_url + raw_path, encoded=True)

    @asynccontextmanager
    async def open(
        self,
        method: str,
        raw_path: str,
        *,
        headers: CIMultiDict[str],
        body: Any = None,
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        """The response, with a lease on this upstream held until it is done with."""
        with self.in_flight.hold():
            async with self._open(method, raw_path, headers=headers, body=body) as response:
                yield response

    @asynccontextmanager
    async def _open(
        self,
        method: str,
        raw_path: str,
        *,
        headers: CIMultiDict[str],
        body: Any = None,
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        credential = await self.credentials.credential()
        response = await self._send(method, raw_path, headers=headers, body=body,
                                    credential=credential)
        if response.status == 401:
            self.credentials.invalidate(credential)
            # Without a body there is nothing to replay: retry once with a fresh credential.
            if body is None:
                fresh = await self.credentials.credential()
                if fresh != credential:
                    response.close()
                    response = await self._send(method, raw_path, headers=headers, body=None,
                                                credential=fresh)
        try:
            yield response
        finally:
            if response.content.is_eof():
                response.release()
            else:
                # An unread body: the connection cannot be reused, and must not leak.
                response.close()

    async def request_json(
        self, method: str, raw_path: str, body: Any, credentials: CredentialSource
    ) -> tuple[int, Any]:
        """A small JSON call of the proxy's own (TokenRequest, reviews) with a given source."""
        with self.in_flight.hold():
            return await self._request_json(method, raw_path, body, credentials)

    async def _request_json(
        self, method: str, raw_path: str, body: Any, credentials: CredentialSource
    ) -> tuple[int, Any]:
        headers: CIMultiDict[str] = CIMultiDict(
            {hdrs.CONTENT_TYPE: "application/json", hdrs.ACCEPT: "application/json"}
        )
        credential = await credentials.credential()
        payload = json.dumps(body).encode() if body is not None else None
        response = await self._send(method, raw_path, headers=headers, body=payload,
                                    credential=credential, for_caller=False)
        async with response:
            if response.status == 401:
                credentials.invalidate(credential)
            try:
                return response.status, await response.json(content_type=None)
            except ValueError:
                return response.status, None

    async def _send(
        self,
        method: str,
        raw_path: str,
        *,
        headers: CIMultiDict[str],
        body: Any,
        credential: Credential,
        for_caller: bool = True,
    ) -> aiohttp.ClientResponse:
        if self._closed:
            # Chosen before a reload replaced it, and used after it was closed: rare, retryable.
            raise UpstreamUnreachableError(
                f"the connections to {self.base_url} were closed after a kubeconfig reload"
            )
        assert self._session is not None, "Upstream.start() was not awaited"
        outbound = headers.copy()
        self._inject(outbound, credential, for_caller=for_caller)
        url = self.url_for(raw_path)
        ssl_context: Any = True
        server_hostname = None
        if self._tls is not None:
            ssl_context = self._tls.context_for(credential.client_certificate)
            server_hostname = self._tls.server_hostname
        try:
            return await self._session.request(
                method,
                url,
                headers=outbound,
                data=body,
                allow_redirects=False,  # never follow a redirect with credentials
                ssl=ssl_context,
                server_hostname=server_hostname,
                middlewares=(exact_headers(outbound, has_body=body is not None),),
            )
        except aiohttp.ClientConnectorCertificateError as exc:
            raise UpstreamTLSError(
                f"TLS handshake with the API server {url.host}:{url.port} failed: "
                f"{_certificate_reason(exc)}"
            ) from None
        except aiohttp.ClientSSLError as exc:
            raise UpstreamTLSError(
                f"TLS handshake with the API server {url.host}:{url.port} failed: "
                f"{_os_error_text(exc)}"
            ) from None
        except aiohttp.ClientConnectorError as exc:
            raise UpstreamUnreachableError(
                f"cannot reach the API server {url.host}:{url.port}: {_os_error_text(exc)}"
            ) from None
        except (TimeoutError, aiohttp.ServerTimeoutError):
            raise UpstreamTimeoutError(
                f"no connection to the API server {url.host}:{url.port} "
                f"within {self._connect_timeout:g}s"
            ) from None
        except aiohttp.ClientError as exc:
            if isinstance(exc.__cause__, ProxyError):
                # Our own refusal while sending the body (it grew past the limit).
                raise exc.__cause__ from None
            raise UpstreamError(
                f"the API server {url.host}:{url.port} failed the request: {type(exc).__name__}"
            ) from None

    def _inject(
        self, headers: CIMultiDict[str], credential: Credential, *, for_caller: bool = True
    ) -> None:
        caller = ACTING_FOR.get() if for_caller else None
        if caller is not None:
            headers.extend(caller_impersonation_headers(caller))
        else:
            for name, value in self._identity_headers:
                headers.add(name, value)
        if credential.authorization is not None:
            headers[hdrs.AUTHORIZATION] = credential.authorization

    async def prepare_direct(self, raw_path: str, *, headers: CIMultiDict[str]) -> DirectRequest:
        """The credential injected into a copy of `headers`, plus how to connect: for upgrades,
        which take over the connection and so cannot use the pooled session.

        Contract as `open`: `headers` are sanitised; the credential is added last. A 401
        answer should be reported with `self.credentials.invalidate(request.credential)`.
        """
        credential = await self.credentials.credential()
        outbound = headers.copy()
        self._inject(outbound, credential)
        url = self.url_for(raw_path)
        assert url.host is not None and url.port is not None
        context = None
        if self._tls is not None:
            context = self._tls.context_for(credential.client_certificate)
        return DirectRequest(
            host=url.host,
            port=url.port,
            authority=url.raw_authority,
            target=url.raw_path_qs,
            headers=outbound,
            ssl=context,
            server_hostname=(self._tls.server_hostname or url.host) if self._tls else None,
            connect_timeout=self._connect_timeout,
            keepalive=self._keepalive,
            credential=credential,
        )

    def _make_socket(self, addr_info: Any) -> socket.socket:
        family, type_, proto, _, _ = addr_info
        sock = socket.socket(family=family, type=type_, proto=proto)
        if family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self._keepalive > 0:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
                if hasattr(socket, "TCP_KEEPIDLE"):
                    period = max(1, int(self._keepalive))
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, period)
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, period)
        return sock


def _certificate_reason(exc: aiohttp.ClientConnectorCertificateError) -> str:
    error = exc.certificate_error
    message = getattr(error, "verify_message", None)
    return f"certificate verify failed: {message}" if message else str(error)


def _os_error_text(exc: OSError) -> str:
    inner = exc.os_error if isinstance(exc, aiohttp.ClientConnectorError) else exc
    return (inner.strerror or str(inner) or type(inner).__name__).lower()
