"""`pods/{name}/log`: generated log text, streamed in chunks or followed line by line.

limitBytes is honoured exactly without holding the whole body in memory, so a
proxy can be tested on large streamed bodies.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

from aiohttp import hdrs, web

from proxy.testing.state import ServerState

CHUNK_BYTES = 64 * 1024
DEFAULT_LINES = 100
FOLLOW_INTERVAL = 0.1


@dataclass(frozen=True)
class LogRequest:
    pod: str
    container: str
    limit_bytes: int | None = None
    tail_lines: int | None = None
    follow: bool = False


def log_line(pod: str, container: str, number: int) -> bytes:
    return f"{number:08d} {pod}/{container}: the quick brown fox jumps over the lazy dog\n".encode()


def _lines(log: LogRequest, start: int = 1) -> Iterator[bytes]:
    number = start
    while True:
        yield log_line(log.pod, log.container, number)
        number += 1


def chunks(log: LogRequest) -> Iterator[bytes]:
    """The body of a non-follow request, in chunks of about CHUNK_BYTES."""
    remaining = log.limit_bytes
    count = log.tail_lines if log.tail_lines is not None else DEFAULT_LINES
    if remaining is None and count == 0:
        return
    buffer = bytearray()
    for index, line in enumerate(_lines(log)):
        if (remaining is None or log.tail_lines is not None) and index >= count:
            break
        buffer += line
        if remaining is not None and len(buffer) >= remaining:
            yield bytes(buffer[:remaining])
            return
        if len(buffer) >= CHUNK_BYTES:
            if remaining is not None:
                remaining -= len(buffer)
            yield bytes(buffer)
            buffer.clear()
    if buffer:
        yield bytes(buffer)


async def serve_log(
    request: web.Request, state: ServerState, log: LogRequest
) -> web.StreamResponse:
    response = web.StreamResponse(headers={hdrs.CONTENT_TYPE: "text/plain"})
    response.enable_chunked_encoding()
    with contextlib.suppress(ConnectionResetError):
        if log.follow:
            async with state.streams.track():
                await response.prepare(request)
                await _follow(response, log)
        else:
            await response.prepare(request)
            for chunk in chunks(log):
                await response.write(chunk)
        await response.write_eof()
    return response


async def _follow(response: web.StreamResponse, log: LogRequest) -> None:
    """One line per FOLLOW_INTERVAL until limitBytes, or forever (until the client goes)."""
    sent = 0
    for line in _lines(log):
        chunk = line if log.limit_bytes is None else line[: log.limit_bytes - sent]
        await response.write(chunk)
        sent += len(chunk)
        if log.limit_bytes is not None and sent >= log.limit_bytes:
            return
        await asyncio.sleep(FOLLOW_INTERVAL)
