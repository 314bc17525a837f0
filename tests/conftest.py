"""Shared fixtures: a hermetic environment, and the fake API server over TLS on loopback."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from proxy.testing import FakeAPIServer

ADMIN_TOKEN = "fake-admin-token"

# Whatever the developer's shell has must not leak into a test.
_HERMETIC_VARIABLES = (
    "KUBECONFIG",
    "KUBERNETES_SERVICE_HOST",
    "KUBERNETES_SERVICE_PORT",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "http_proxy",
    "https_proxy",
    "NO_PROXY",
    "no_proxy",
)


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    for name in _HERMETIC_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    yield


# `KUBE_AUTH_PROXY_TEST_UPSTREAM=h2`: the fake API server speaks HTTP/2 (an h2 front takes
# its connections, HTTP/1.1 ones pass through), and the in-process proxies send everything
# over `--upstream-protocol http2`: `make test` runs the integration suite both ways.
UPSTREAM_H2 = os.environ.get("KUBE_AUTH_PROXY_TEST_UPSTREAM") == "h2"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Over the h2 front the fake sees the front's TLS connection, not the proxy's: a test
    that needs the fake to read the proxy's client certificate is skipped, and
    test_http2_functional checks the certificate is presented over h2 instead."""
    if not UPSTREAM_H2:
        return
    skip = pytest.mark.skip(
        reason="the h2 front terminates TLS: the fake cannot see the client certificate "
        "(test_the_client_certificate_is_presented_over_h2 covers h2)"
    )
    for item in items:
        if "client_cert_at_the_fake" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
async def apiserver() -> AsyncIterator[FakeAPIServer]:
    async with FakeAPIServer(
        tokens={ADMIN_TOKEN: "admin"}, basic_users={"bob": "bob-password"}, http2=UPSTREAM_H2
    ) as api:
        yield api


@pytest.fixture
def admin_kubeconfig(apiserver: FakeAPIServer, tmp_path: Path) -> Path:
    return apiserver.kubeconfig(tmp_path / "admin.kubeconfig", token=ADMIN_TOKEN)


async def eventually(predicate: Callable[[], bool], *, timeout: float = 5.0) -> None:
    """Wait, bounded, for something another task does (no fixed sleeps)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)


class FakeClock:
    """A clock the test moves by hand: expiry and re-read pacing without sleeping."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
