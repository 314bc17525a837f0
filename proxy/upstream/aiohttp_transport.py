"""The `Transport` over aiohttp's client: one pooled session per API server.

aiohttp builds the header set itself (`User-Agent`, `Accept`, `Accept-Encoding`,
a default `Content-Type`, a `Content-Length: 0` for a bodiless DELETE): the
session's `skip_auto_headers` and the per-request `exact_headers` middleware
keep all of that out, so the API server sees the request as it was meant.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable

import aiohttp
from aiohttp import hdrs
from multidict import CIMultiDict
from yarl import URL

from proxy.errors import UpstreamUnreachableError
from proxy.upstream.endpoint import Endpoint
from proxy.upstream.failures import BREAKS, broken_off, reaching
from proxy.upstream.sockets import new_socket
from proxy.upstream.transport import RequestBody, RequestHead, Response, ResponseHead

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


class AiohttpTransport:
    """aiohttp's `ClientSession` behind the `Transport` contract (proxy/upstream/transport.py)."""

    def __init__(self, endpoint: Endpoint, *, connect_timeout: float, keepalive: float) -> None:
        self._endpoint = endpoint
        self._origin = endpoint.origin
        self._where = endpoint.where
        self._connect_timeout = connect_timeout
        self._keepalive = keepalive
        self._session: aiohttp.ClientSession | None = None
        self._closed = False

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(
            limit=0,  # watches hold connections: no pool cap, as Go's transport
            keepalive_timeout=90,
            socket_factory=functools.partial(new_socket, keepalive=self._keepalive),
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

    async def send(self, request: RequestHead, body: RequestBody) -> Response:
        if self._closed:
            raise UpstreamUnreachableError(f"the connections to {self._origin} are closed")
        assert self._session is not None, "AiohttpTransport.start() was not awaited"
        with reaching(self._where, connect_timeout=self._connect_timeout):
            response = await self._session.request(
                request.method,
                URL(self._origin + request.target, encoded=True),
                headers=request.headers,
                data=body,
                allow_redirects=False,  # never follow a redirect with credentials
                ssl=request.tls if request.tls is not None else True,
                server_hostname=self._endpoint.tls_server_name,
                middlewares=(exact_headers(request.headers, has_body=body is not None),),
            )
        head = ResponseHead(
            status=response.status, reason=response.reason or "", headers=response.headers
        )
        return Response(head=head, body=AiohttpBody(response))


class AiohttpBody:
    """A `ResponseBody` over aiohttp's response: its pieces as they arrive, failures mapped."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response
        self._content = response.content

    async def read(self) -> bytes:
        try:
            return await self._content.readany()
        except BREAKS as exc:
            raise broken_off("the response", exc) from None

    def close(self) -> None:
        if self._content.is_eof():
            self._response.release()
        else:
            # An unread body: the connection cannot be reused, and must not leak.
            self._response.close()
