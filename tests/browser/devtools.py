"""Just enough of the Chrome DevTools protocol to open a page and run its JavaScript.

Spoken over the `websockets` library the tests already use: no browser driver to install,
nothing downloaded when the tests run, and no driver version to keep in step with
Debian's Chromium (the protocol's Target, Page and Runtime domains are stable).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import websockets

COMMAND_TIMEOUT = 15.0


class DevTools:
    """One connection to the browser; commands to it, or to a page attached as a flat session."""

    def __init__(self, connection: websockets.ClientConnection) -> None:
        self._connection = connection
        self._ids = itertools.count(1)
        self._replies: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._waiters: list[tuple[str, str | None, asyncio.Future[dict[str, Any]]]] = []
        self._reader = asyncio.create_task(self._read())

    @classmethod
    @contextlib.asynccontextmanager
    async def connect(cls, url: str) -> AsyncIterator[DevTools]:
        async with websockets.connect(url, max_size=None) as connection:
            devtools = cls(connection)
            try:
                yield devtools
            finally:
                devtools._reader.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await devtools._reader

    async def send(
        self, method: str, params: dict[str, Any] | None = None, *, session: str | None = None
    ) -> dict[str, Any]:
        command: dict[str, Any] = {"id": next(self._ids), "method": method, "params": params or {}}
        if session is not None:
            command["sessionId"] = session
        reply = self._replies[command["id"]] = asyncio.get_running_loop().create_future()
        await self._connection.send(json.dumps(command))
        answer = await asyncio.wait_for(reply, COMMAND_TIMEOUT)
        if "error" in answer:
            raise AssertionError(f"DevTools {method}: {answer['error']}")
        result: dict[str, Any] = answer.get("result", {})
        return result

    def expect(self, event: str, *, session: str | None) -> asyncio.Future[dict[str, Any]]:
        """A future for the next `event` of `session`: ask before doing what causes it."""
        future = asyncio.get_running_loop().create_future()
        self._waiters.append((event, session, future))
        return future

    async def _read(self) -> None:
        async for raw in self._connection:
            message = json.loads(raw)
            if "id" in message:
                reply = self._replies.pop(message["id"], None)
                if reply is not None and not reply.done():
                    reply.set_result(message)
                continue
            for waiter in list(self._waiters):
                event, session, future = waiter
                if event == message.get("method") and session == message.get("sessionId"):
                    self._waiters.remove(waiter)
                    if not future.done():
                        future.set_result(message.get("params", {}))


@dataclass
class Page:
    """A tab in a browser context of its own (no cache or preflight shared between tests)."""

    devtools: DevTools
    session: str

    async def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression, promises awaited; a thrown error fails."""
        result = await self.devtools.send(
            "Runtime.evaluate",
            {"expression": expression, "awaitPromise": True, "returnByValue": True},
            session=self.session,
        )
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            raise AssertionError(
                f"the page threw: {details.get('exception', {}).get('description', details)}"
            )
        return result["result"].get("value")


@contextlib.asynccontextmanager
async def open_page(devtools: DevTools, url: str) -> AsyncIterator[Page]:
    """Load `url` in a fresh browser context; the context is disposed of afterwards."""
    context = (await devtools.send("Target.createBrowserContext"))["browserContextId"]
    try:
        target = (await devtools.send(
            "Target.createTarget", {"url": "about:blank", "browserContextId": context}
        ))["targetId"]
        session = (await devtools.send(
            "Target.attachToTarget", {"targetId": target, "flatten": True}
        ))["sessionId"]
        await devtools.send("Page.enable", session=session)
        loaded = devtools.expect("Page.loadEventFired", session=session)
        navigation = await devtools.send("Page.navigate", {"url": url}, session=session)
        assert "errorText" not in navigation, navigation
        await asyncio.wait_for(loaded, COMMAND_TIMEOUT)
        yield Page(devtools, session)
    finally:
        await devtools.send("Target.disposeBrowserContext", {"browserContextId": context})
