"""REST forwarding: one request out, the answer streamed back as it arrives."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from proxy.errors import RequestTooLargeError, UpstreamError
from proxy.exchange import CLIENT_CLOSED, note_outcome
from proxy.headers import outbound_request_headers, outbound_response_headers
from proxy.routing.canonical import canonical_of
from proxy.routing.kind import is_watch_request
from proxy.status import status_response
from proxy.streams.shutdown import OpenStreams
from proxy.streams.truncation import abort_truncated
from proxy.upstream.session import Upstream
from proxy.upstream.transport import RequestBody, ResponseBody


async def relay_body(source: ResponseBody, sink: web.StreamResponse) -> int:
    """Copy bytes as they arrive, never waiting for more: the flush policy.

    Watch streams and `log?follow=true` have no length, and each event must
    reach the client when the API server sends it; large lists pass through
    in bounded pieces, so memory stays flat whatever the size.
    """
    sent = 0
    while chunk := await source.read():
        await sink.write(chunk)
        sent += len(chunk)
    return sent


def request_body(request: web.Request, limit: int) -> RequestBody:
    """The body to stream upstream, held to `limit` bytes (0: no limit).

    A declared length over the limit is refused before anything is sent; a
    chunked body is counted as it streams and cut off when it passes the limit.
    """
    if not request.body_exists:
        return None
    if limit <= 0:
        return request.content.iter_any()
    length = request.content_length
    if length is not None:
        if length > limit:
            raise RequestTooLargeError(f"the request body ({length} bytes) is larger than "
                                       f"the proxy's limit of {limit} bytes")
        return request.content.iter_any()
    return _counted(request.content.iter_any(), limit)


async def _counted(source: AsyncIterator[bytes], limit: int) -> AsyncIterator[bytes]:
    seen = 0
    async for chunk in source:
        seen += len(chunk)
        if seen > limit:
            raise RequestTooLargeError(
                f"the request body is larger than the proxy's limit of {limit} bytes"
            )
        yield chunk


def is_endless(request: web.Request) -> bool:
    """Responses that only end when someone ends them: watches and followed logs."""
    canonical = canonical_of(request)
    if is_watch_request(canonical):
        return True
    return request.path.endswith("/log") and canonical.query.flag("follow")


class ForwardHandler:
    """Forwards any method, path and query to the API server, bodies streamed both ways.

    The inbound request is never modified: an outbound header set is built,
    sanitised, and handed to `Upstream.open`, which injects the credential.
    """

    def __init__(
        self, upstream: Upstream, *, max_body_bytes: int = 0, streams: OpenStreams | None = None
    ):
        self._upstream = upstream
        self._max_body_bytes = max_body_bytes
        self._streams = streams or OpenStreams()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        raw_path = request.raw_path
        if not raw_path.startswith("/"):
            return status_response(400, "the request target must be a path (origin-form)")
        headers = outbound_request_headers(request.headers.items(), keep_content_length=True)
        body = request_body(request, self._max_body_bytes)
        endless = is_endless(request)
        async with self._upstream.open(
            request.method, raw_path, headers=headers, body=body, long_lived=endless
        ) as upstream:
            response = web.StreamResponse(
                status=upstream.head.status,
                reason=upstream.head.reason,
                headers=outbound_response_headers(upstream.head.headers.items()),
            )
            try:
                # A client that left before the headers went out is as gone as one
                # that leaves mid-body: not an error of the proxy's.
                await response.prepare(request)
                if endless:
                    # A watch or a followed log: on shutdown it ends with its last chunk.
                    # (A chunked list is not one: it gets --shutdown-grace to finish.)
                    with self._streams.track(upstream.body.close):
                        await relay_body(upstream.body, response)
                else:
                    await relay_body(upstream.body, response)
                await response.write_eof()
            except ConnectionResetError:
                # The client went away: leaving this block closes the upstream request.
                note_outcome(request, CLIENT_CLOSED)
                return response
            except UpstreamError as exc:
                if self._streams.stopping:
                    # We closed it to shut down: end the stream as a watch ends.
                    await response.write_eof()
                    return response
                abort_truncated(request, exc)
                return response
            return response
