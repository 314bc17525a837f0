"""Just enough HTTP/1.1 to read the API server's answer to an upgrade request ourselves.

The upgrade connection is the proxy's own (the pooled session cannot hand over
its socket), so the response head is parsed here; a body is read only when the
upstream declines to upgrade, by its Content-Length, its chunks, or to the end.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

from aiohttp import hdrs
from multidict import CIMultiDict

from proxy.errors import UpstreamError

MAX_HEAD_BYTES = 64 * 1024
_PIECE = 64 * 1024


@dataclass(frozen=True)
class ResponseHead:
    status: int
    reason: str
    headers: CIMultiDict[str]


async def read_response_head(reader: asyncio.StreamReader) -> ResponseHead:
    """Status line and headers; a malformed head is a 502, never a traceback."""
    try:
        raw = await reader.readuntil(b"\r\n\r\n")
    except asyncio.LimitOverrunError:
        raise UpstreamError("the API server's response head is too large") from None
    except asyncio.IncompleteReadError:
        raise UpstreamError("the API server closed the connection without answering") from None
    if len(raw) > MAX_HEAD_BYTES:
        raise UpstreamError("the API server's response head is too large")
    status_line, *lines = raw.decode("latin-1").split("\r\n")
    version, _, rest = status_line.partition(" ")
    code, _, reason = rest.partition(" ")
    if not version.startswith("HTTP/1.") or not code.isdigit():
        raise UpstreamError("the API server's answer is not HTTP/1.1")
    headers: CIMultiDict[str] = CIMultiDict()
    for line in lines:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            raise UpstreamError("the API server sent a malformed header")
        headers.add(name, value.strip())
    return ResponseHead(status=int(code), reason=reason, headers=headers)


def has_body(status: int, method: str) -> bool:
    return method != "HEAD" and status >= 200 and status not in (204, 304)


async def read_body(
    head: ResponseHead, reader: asyncio.StreamReader, *, method: str
) -> AsyncIterator[bytes]:
    """The body's pieces, unframed: by Content-Length, by chunks, or until the upstream closes."""
    if not has_body(head.status, method):
        return
    if "chunked" in head.headers.get(hdrs.TRANSFER_ENCODING, "").lower():
        async for piece in _chunks(reader):
            yield piece
        return
    length = head.headers.get(hdrs.CONTENT_LENGTH)
    if length is not None:
        if not length.strip().isdigit():
            raise UpstreamError("the API server sent an invalid Content-Length")
        remaining = int(length)
        while remaining > 0:
            piece = await reader.readexactly(min(remaining, _PIECE))
            remaining -= len(piece)
            yield piece
        return
    while piece := await reader.read(_PIECE):
        yield piece


async def _chunks(reader: asyncio.StreamReader) -> AsyncIterator[bytes]:
    while True:
        size_line = await reader.readuntil(b"\r\n")
        size_text = size_line.split(b";")[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise UpstreamError("the API server sent a malformed chunk") from None
        if size == 0:
            while (await reader.readuntil(b"\r\n")) != b"\r\n":
                pass  # trailers: dropped, as the forwarder drops them
            return
        remaining = size
        while remaining > 0:
            piece = await reader.readexactly(min(remaining, _PIECE))
            remaining -= len(piece)
            yield piece
        await reader.readexactly(2)
