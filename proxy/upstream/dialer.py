"""The upgrade's own connection to the API server, and just enough HTTP/1.1 to use it.

The pooled session cannot hand over its socket, so an upgrade connects here
(TLS and credential as `Upstream.prepare_direct` says), writes its request head
and parses the answer's; a body is read only when the upstream declines to
upgrade, by its Content-Length, its chunks, or to the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass

from aiohttp import hdrs
from multidict import CIMultiDict

from proxy.errors import (
    UpstreamError,
    UpstreamTimeoutError,
    UpstreamTLSError,
    UpstreamUnreachableError,
)
from proxy.upstream.session import DirectRequest

MAX_HEAD_BYTES = 64 * 1024
STREAM_LIMIT = 64 * 1024
_PIECE = 64 * 1024


@dataclass(frozen=True)
class ResponseHead:
    status: int
    reason: str
    headers: CIMultiDict[str]


def request_head(method: str, direct: DirectRequest) -> bytes:
    """The request line and headers; header bytes go out as aiohttp read them in."""
    lines = [f"{method} {direct.target} HTTP/1.1", f"Host: {direct.authority}"]
    lines += [f"{name}: {value}" for name, value in direct.headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8", "surrogateescape")


@contextlib.asynccontextmanager
async def connect_direct(
    direct: DirectRequest,
) -> AsyncIterator[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    """The proxy's own connection to the API server, closed on leaving; failures as Status."""
    where = f"{direct.host}:{direct.port}"
    try:
        async with asyncio.timeout(direct.connect_timeout):
            reader, writer = await asyncio.open_connection(
                direct.host,
                direct.port,
                ssl=direct.ssl,
                server_hostname=direct.server_hostname,
                limit=STREAM_LIMIT,
            )
    except ssl.SSLCertVerificationError as exc:
        reason = exc.verify_message or str(exc)
        raise UpstreamTLSError(
            f"TLS handshake with the API server {where} failed: certificate verify failed: {reason}"
        ) from None
    except ssl.SSLError as exc:
        raise UpstreamTLSError(
            f"TLS handshake with the API server {where} failed: {exc.reason or exc}"
        ) from None
    except TimeoutError:
        raise UpstreamTimeoutError(
            f"no connection to the API server {where} within {direct.connect_timeout:g}s"
        ) from None
    except OSError as exc:
        reason = (exc.strerror or str(exc) or type(exc).__name__).lower()
        raise UpstreamUnreachableError(f"cannot reach the API server {where}: {reason}") from None
    set_keepalive(writer, direct.keepalive)
    try:
        yield reader, writer
    finally:
        writer.close()
        with contextlib.suppress(OSError, ssl.SSLError):
            await writer.wait_closed()


async def exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request_bytes: bytes
) -> ResponseHead:
    """Send the request, read the answer's head; a connection lost on the way is a 502."""
    try:
        writer.write(request_bytes)
        await writer.drain()
        return await read_response_head(reader)
    except ConnectionError as exc:
        raise UpstreamError(f"the API server broke off the upgrade: {type(exc).__name__}") from None


def set_keepalive(writer: asyncio.StreamWriter, period: float) -> None:
    sock = writer.get_extra_info("socket")
    if period <= 0 or sock is None or sock.family not in (socket.AF_INET, socket.AF_INET6):
        return
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    if hasattr(socket, "TCP_KEEPIDLE"):
        seconds = max(1, int(period))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, seconds)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, seconds)


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
