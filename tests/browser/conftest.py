"""Headless Chromium, and a second loopback origin serving the test page.

Debian's `chromium` (`.ci/run` installs it) is driven over the DevTools protocol
(tests/browser/devtools.py). Without it these tests fail in CI (`CI` set) and are
skipped, saying why, on a developer's machine.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiohttp import web

from tests.browser.devtools import DevTools

# The proxy in-process in front of the fake API server, as the integration tests start it.
from tests.integration.conftest import start_proxy  # noqa: F401

PAGE_DIR = Path(__file__).parent / "page"
STARTUP_TIMEOUT = 30.0


def chromium_path() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        reason = "no chromium on PATH (apt-get install chromium; .ci/run installs it)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return found


@pytest.fixture(scope="session")
def browser_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One headless Chromium for the session; its DevTools WebSocket URL."""
    profile = tmp_path_factory.mktemp("chromium-profile")
    log_path = profile.parent / "chromium.log"
    with log_path.open("wb") as log:
        browser = subprocess.Popen(
            [chromium_path(), "--headless", "--no-sandbox", "--disable-gpu",
             "--disable-dev-shm-usage", "--no-first-run", "--no-default-browser-check",
             "--disable-extensions",
             "--disable-background-networking", "--disable-component-update",
             "--disable-sync", f"--user-data-dir={profile}",
             "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
             "about:blank"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
        )
    try:
        yield _devtools_url(profile / "DevToolsActivePort", browser, log_path)
    finally:
        _stop(browser)


def _devtools_url(active_port: Path, browser: subprocess.Popen[bytes], log_path: Path) -> str:
    """Chromium writes its DevTools port and path to this file once it listens."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if browser.poll() is not None:
            break
        lines = active_port.read_text().splitlines() if active_port.exists() else []
        if len(lines) >= 2:
            return f"ws://127.0.0.1:{lines[0]}{lines[1]}"
        time.sleep(0.05)
    tail = log_path.read_text(errors="replace")[-2000:]
    raise AssertionError(f"chromium did not start (exit {browser.poll()}): {tail}")


def _stop(browser: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the browser's own process group (its renderers too), SIGKILL if it lingers."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(browser.pid, signal.SIGTERM)
    try:
        browser.wait(10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(browser.pid, signal.SIGKILL)
        browser.wait(10)


@pytest.fixture
async def devtools(browser_endpoint: str) -> AsyncIterator[DevTools]:
    async with DevTools.connect(browser_endpoint) as connection:
        yield connection


@contextlib.asynccontextmanager
async def serving(directory: Path) -> AsyncIterator[str]:
    """`directory`'s files from a loopback port of its own: another origin than the proxy's."""
    app = web.Application()
    app.router.add_static("/", directory)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server = site._server
    assert server is not None and server.sockets
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


@pytest.fixture
async def page_origin() -> AsyncIterator[str]:
    """The origin serving the test page (tests/browser/page)."""
    async with serving(PAGE_DIR) as origin:
        yield origin
