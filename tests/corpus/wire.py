"""A raw HTTP/1.1 (and WebSocket) client: the recorded request byte for byte, the reply timed.

No HTTP library sits in between, so nothing adds `Accept`, `User-Agent` or
`Accept-Encoding`, normalises `..` or `%2F` in the path, drops an empty header, or
decompresses: what the recording sent is what the fake gets, and how a stream ended
(terminal chunk, EOF, close frame, or still open when cut) is observed, not inferred.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import ssl
import struct
from dataclasses import dataclass, field

MAX_HEAD_BYTES = 64 * 1024

# WebSocket opcodes, named as the recording counts them.
OPCODES = {0: "continuation", 1: "text", 2: "binary", 8: "close", 9: "ping", 10: "pong"}


@dataclass(frozen=True)
class WireRequest:
    method: str
    target: str  # path and query, sent verbatim
    headers: tuple[tuple[str, str], ...]
    body: bytes | None = None  # None: no body and no Content-Length
    open_for_s: float = 5.0  # cut the connection after this long if the reply has not ended
    websocket: bool = False


@dataclass(frozen=True)
class Frame:
    after_s: float
    opcode: int
    payload: bytes


@dataclass
class WireResponse:
    """What came back: head, body as received (de-chunked, never decompressed), timing."""

    status: int | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)  # names lower-cased
    body: bytes = b""
    pieces: list[tuple[float, bytes]] = field(default_factory=list)  # body data with arrival
    frames: list[Frame] = field(default_factory=list)
    end_by: str = "server"  # or "client-cut"
    end_how: str | None = None  # terminal-chunk, content-length, eof, eof-mid-body, close-frame
    end_after_s: float = 0.0
    error: str | None = None

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key == name:
                return value
        return None


class _Reader:
    """asyncio.StreamReader plus the clock every piece of body is stamped with."""

    def __init__(self, reader: asyncio.StreamReader, started: float) -> None:
        self.reader = reader
        self.started = started

    def now(self) -> float:
        return asyncio.get_running_loop().time() - self.started


def _encode_request(request: WireRequest, host: str) -> bytes:
    """The request as sent: Content-Length added for a body unless the case framed it itself
    (its own Content-Length, or Transfer-Encoding: chunked, then the body goes as one chunk)."""
    lines = [f"{request.method} {request.target} HTTP/1.1", f"Host: {host}"]
    lines += [f"{name}: {value}" for name, value in request.headers]
    named = {name.lower(): value.lower() for name, value in request.headers}
    body = request.body or b""
    if "chunked" in named.get("transfer-encoding", ""):
        body = (f"{len(body):x}\r\n".encode() + body + b"\r\n" if body else b"") + b"0\r\n\r\n"
    elif request.body is not None and "content-length" not in named:
        lines.append(f"Content-Length: {len(body)}")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return head + body


async def _read_head(reader: asyncio.StreamReader, response: WireResponse) -> None:
    raw = await reader.readuntil(b"\r\n\r\n")
    if len(raw) > MAX_HEAD_BYTES:
        raise ValueError("response head too large")
    status_line, *header_lines = raw.decode("latin-1").split("\r\n")
    response.status = int(status_line.split(" ", 2)[1])
    for line in header_lines:
        if line:
            name, _, value = line.partition(":")
            response.headers.append((name.strip().lower(), value.strip()))


async def _read_chunked(r: _Reader, response: WireResponse) -> None:
    while True:
        size_line = await r.reader.readuntil(b"\r\n")
        size = int(size_line.split(b";")[0].strip(), 16)
        if size == 0:
            while (await r.reader.readuntil(b"\r\n")) != b"\r\n":
                pass
            response.end_how = "terminal-chunk"
            return
        data = await r.reader.readexactly(size)
        await r.reader.readexactly(2)
        response.pieces.append((r.now(), data))


async def _read_length(r: _Reader, response: WireResponse, length: int) -> None:
    remaining = length
    while remaining:
        data = await r.reader.read(min(remaining, 65536))
        if not data:
            response.end_how = "eof-mid-body"
            return
        remaining -= len(data)
        response.pieces.append((r.now(), data))
    response.end_how = "content-length"


async def _read_to_eof(r: _Reader, response: WireResponse) -> None:
    while data := await r.reader.read(65536):
        response.pieces.append((r.now(), data))
    response.end_how = "eof"


async def _read_body(r: _Reader, response: WireResponse, method: str) -> None:
    status = response.status or 0
    if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
        response.end_how = "content-length"
        return
    if "chunked" in (response.header("transfer-encoding") or "").lower():
        try:
            await _read_chunked(r, response)
        except asyncio.IncompleteReadError as error:
            if error.partial:
                response.pieces.append((r.now(), error.partial))
            response.end_how = "eof-mid-body"
        return
    length = response.header("content-length")
    if length is not None:
        await _read_length(r, response, int(length))
    else:
        await _read_to_eof(r, response)


def _mask(payload: bytes, key: bytes) -> bytes:
    return bytes(byte ^ key[i % 4] for i, byte in enumerate(payload))


def client_frame(opcode: int, payload: bytes) -> bytes:
    """A masked, final client frame (RFC 6455 section 5.2)."""
    key = os.urandom(4)
    length = len(payload)
    if length < 126:
        head = struct.pack("!BB", 0x80 | opcode, 0x80 | length)
    elif length < 1 << 16:
        head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, length)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, length)
    return head + key + _mask(payload, key)


async def _read_frames(
    r: _Reader, writer: asyncio.StreamWriter, response: WireResponse
) -> None:
    while True:
        try:
            first, second = await r.reader.readexactly(2)
        except asyncio.IncompleteReadError:
            response.end_how = "eof"
            return
        opcode, length = first & 0x0F, second & 0x7F
        if length == 126:
            (length,) = struct.unpack("!H", await r.reader.readexactly(2))
        elif length == 127:
            (length,) = struct.unpack("!Q", await r.reader.readexactly(8))
        key = await r.reader.readexactly(4) if second & 0x80 else b""
        payload = await r.reader.readexactly(length)
        if key:
            payload = _mask(payload, key)
        response.frames.append(Frame(r.now(), opcode, payload))
        if opcode == 9:
            writer.write(client_frame(10, payload))
        elif opcode == 8:
            with contextlib.suppress(ConnectionError):
                writer.write(client_frame(8, payload[:2]))
                await writer.drain()
            response.end_how = "close-frame"
            return


async def _write(writer: asyncio.StreamWriter, data: bytes) -> None:
    with contextlib.suppress(ConnectionError):
        writer.write(data)
        await writer.drain()


async def send(
    request: WireRequest,
    *,
    host: str,
    port: int,
    ssl_context: ssl.SSLContext,
) -> WireResponse:
    """Send `request` on a fresh TLS connection; read until the reply ends or is cut."""
    loop = asyncio.get_running_loop()
    response = WireResponse()
    reader, writer = await asyncio.open_connection(
        host, port, ssl=ssl_context, server_hostname=host
    )
    started = loop.time()
    r = _Reader(reader, started)
    # The request is written while the reply is read: a server may answer (413, say)
    # and close before taking a large body, as the apiserver does.
    sending = asyncio.create_task(_write(writer, _encode_request(request, f"{host}:{port}")))
    try:
        async with asyncio.timeout(request.open_for_s):
            await _read_head(reader, response)
            if response.status == 101 and request.websocket:
                await _read_frames(r, writer, response)
            else:
                await _read_body(r, response, request.method)
    except TimeoutError:
        response.end_by = "client-cut"
    except (asyncio.IncompleteReadError, ConnectionError, ValueError) as error:
        response.end_how = "eof-mid-body" if response.status else "eof"
        if response.status is None:
            response.error = f"{type(error).__name__}: {error}"
    finally:
        sending.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sending
        response.end_after_s = r.now()
        response.body = b"".join(data for _, data in response.pieces)
        writer.close()
        with contextlib.suppress(ConnectionError, ssl.SSLError, TimeoutError):
            async with asyncio.timeout(2):
                await writer.wait_closed()
    return response
