"""aiohttp's private parts the proxy uses are still there and still behave, and the installed
aiohttp is one pyproject.toml admits: an aiohttp release that changes them fails here first."""

from __future__ import annotations

import asyncio
import contextlib
import tomllib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_server import Server
from packaging.requirements import Requirement  # a dependency of pytest itself

from proxy.aiohttp_internals import (
    HandlerRunner,
    aiohttp_internals_missing,
    queued_request_heads,
    read_connection_with,
)

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def aiohttp_requirement() -> Requirement:
    dependencies = tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"]
    [declared] = [Requirement(d) for d in dependencies if Requirement(d).name == "aiohttp"]
    return declared


def test_installed_aiohttp_has_every_private_part_the_proxy_uses() -> None:
    missing = aiohttp_internals_missing()
    assert not missing, (
        f"aiohttp {aiohttp.__version__} no longer has {', '.join(missing)}: "
        "adapt proxy/aiohttp_internals.py before allowing this release in pyproject.toml"
    )


def test_aiohttp_dependency_has_an_upper_bound() -> None:
    bounds = [spec for spec in aiohttp_requirement().specifier if spec.operator in ("<", "<=")]
    assert bounds, "pyproject.toml must bound aiohttp above: the proxy uses its private parts"


def test_installed_aiohttp_is_inside_the_declared_bound() -> None:
    declared = aiohttp_requirement()
    assert declared.specifier.contains(aiohttp.__version__, prereleases=True), (
        f"aiohttp {aiohttp.__version__} is installed, pyproject.toml admits {declared.specifier}"
    )


class RecordingHandler(RequestHandler):
    """Notes how many heads were queued after each chunk of bytes."""

    queued: list[int]

    def __init__(self, manager: Server, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self.queued = []
        handlers.append(self)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self.queued.append(queued_request_heads(self))


handlers: list[RecordingHandler] = []


async def ok(request: web.Request) -> web.Response:
    return web.Response(text="ok")


@contextlib.asynccontextmanager
async def listening(runner: web.AppRunner) -> AsyncIterator[int]:
    """The runner's app on a loopback port (yielded), cleaned up after."""
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        yield runner.addresses[0][1]
    finally:
        await runner.cleanup()


@pytest.fixture
async def served() -> AsyncIterator[int]:
    """An app on a loopback port, its connections served by `RecordingHandler`."""
    handlers.clear()
    app = web.Application()
    app.router.add_get("/", ok)
    async with listening(HandlerRunner(app, make_handler=RecordingHandler)) as port:
        yield port


async def test_runner_serves_connections_with_the_given_handler(served: int) -> None:
    async with aiohttp.ClientSession() as session, session.get(
        f"http://127.0.0.1:{served}/"
    ) as response:
        assert (response.status, await response.text()) == (200, "ok")
    [handler] = handlers
    assert handler.queued and handler.queued[0] == 1, "one complete head queued by the parser"


async def test_runner_without_a_handler_leaves_aiohttp_server_as_it_is() -> None:
    runner = HandlerRunner(web.Application(), make_handler=None)
    await runner.setup()
    try:
        server = runner.server
        assert type(server) is Server
        assert type(server()) is RequestHandler
    finally:
        await runner.cleanup()


class Collected:
    """A raw reader: what the connection sends after it stops speaking HTTP."""

    def __init__(self) -> None:
        self.data = b""
        self.ended = asyncio.Event()

    def feed_data(self, data: bytes) -> tuple[bool, bytes]:
        self.data += data
        if b"end" in self.data:
            self.ended.set()
        return False, b""

    def feed_eof(self) -> None:
        self.ended.set()


async def test_connection_read_by_the_given_reader_after_a_switch() -> None:
    collected = Collected()

    async def switch(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(
            status=101, headers={"Upgrade": "websocket", "Connection": "Upgrade"}
        )
        request.protocol.keep_alive(False)
        await response.prepare(request)
        read_connection_with(request.protocol, collected)
        await response.write(b"ready ")  # aiohttp sends the head with the first bytes
        await collected.ended.wait()
        await response.write(b"got " + collected.data)
        return response

    app = web.Application()
    app.router.add_get("/", switch)
    async with listening(web.AppRunner(app)) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            # The first raw bytes travel with the head: they reach the reader too.
            writer.write(
                b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nhi "
            )
            await writer.drain()
            async with asyncio.timeout(5):
                head = await reader.readuntil(b"\r\n\r\n")
                assert head.startswith(b"HTTP/1.1 101")
                assert await reader.readexactly(len(b"ready ")) == b"ready "
                writer.write(b"end")
                await writer.drain()
                assert await reader.readexactly(len(b"got hi end")) == b"got hi end"
        finally:
            writer.close()
