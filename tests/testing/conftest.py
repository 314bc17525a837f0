"""Fixtures for the fake API server's own tests: a running server and clients that trust it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest

from proxy.testing import FakeAPIServer

TOKEN = "fake-admin-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Keep tests hermetic: no kubeconfig, home or in-cluster settings leak in."""
    for name in ("KUBECONFIG", "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("KUBECACHEDIR", str(tmp_path / "kube-cache"))
    yield


@pytest.fixture
def auth() -> dict[str, str]:
    """Headers authenticating as the server's admin user."""
    return dict(AUTH)


@pytest.fixture
async def api() -> AsyncIterator[FakeAPIServer]:
    async with FakeAPIServer(
        tokens={TOKEN: "admin"}, basic_users={"alice": "s3cret"}, bookmark_interval=0.05
    ) as server:
        yield server


@pytest.fixture
async def session(api: FakeAPIServer) -> AsyncIterator[aiohttp.ClientSession]:
    """A client trusting the server's CA, with no credentials of its own."""
    connector = aiohttp.TCPConnector(ssl=api.client_ssl_context())
    async with aiohttp.ClientSession(base_url=api.url, connector=connector) as client:
        yield client
