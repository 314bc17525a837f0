"""The API server's certificate is verified; failures are 502 Statuses that say why."""

from __future__ import annotations

import socket
from pathlib import Path

import aiohttp
import pytest
import trustme

from proxy.testing import FakeAPIServer
from tests.integration.conftest import ADMIN_TOKEN, StartProxy


async def status_of(client: aiohttp.ClientSession, url: str) -> tuple[int, dict[str, object]]:
    async with client.get(f"{url}/api/v1/namespaces") as response:
        assert response.content_type == "application/json"
        return response.status, await response.json()


async def test_unknown_ca_is_refused_with_a_502_naming_the_tls_failure(
    apiserver: FakeAPIServer,
    start_proxy: StartProxy,
    client: aiohttp.ClientSession,
    tmp_path: Path,
) -> None:
    other_ca = trustme.CA()
    kubeconfig = apiserver.kubeconfig(
        tmp_path / "k", token=ADMIN_TOKEN, ca_pem=other_ca.cert_pem.bytes()
    )
    proxy = await start_proxy(kubeconfig)
    code, body = await status_of(client, proxy.url)
    assert code == 502
    assert body["kind"] == "Status" and body["code"] == 502
    assert "certificate verify failed" in str(body["message"])
    assert ADMIN_TOKEN not in str(body)
    assert not apiserver.requests, "no request may reach an unverified server"


async def test_host_name_mismatch_is_refused(
    start_proxy: StartProxy, client: aiohttp.ClientSession, tmp_path: Path
) -> None:
    async with FakeAPIServer(
        tokens={ADMIN_TOKEN: "admin"}, server_hostnames=("fake-apiserver.test",)
    ) as api:
        proxy = await start_proxy(api.kubeconfig(tmp_path / "k", token=ADMIN_TOKEN))
        code, body = await status_of(client, proxy.url)
    assert code == 502
    assert "certificate verify failed" in str(body["message"])
    assert "mismatch" in str(body["message"]) or "not valid for" in str(body["message"])


async def test_tls_server_name_sets_the_name_checked(
    start_proxy: StartProxy, client: aiohttp.ClientSession, tmp_path: Path
) -> None:
    async with FakeAPIServer(
        tokens={ADMIN_TOKEN: "admin"}, server_hostnames=("fake-apiserver.test",)
    ) as api:
        kubeconfig = api.kubeconfig(
            tmp_path / "k", token=ADMIN_TOKEN, tls_server_name="fake-apiserver.test"
        )
        proxy = await start_proxy(kubeconfig)
        code, _ = await status_of(client, proxy.url)
        assert code == 200
        assert api.requests[-1].headers["Host"] == f"127.0.0.1:{api.port}"


async def test_insecure_skip_tls_verify_only_when_the_kubeconfig_says_so(
    apiserver: FakeAPIServer,
    start_proxy: StartProxy,
    client: aiohttp.ClientSession,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    kubeconfig = apiserver.kubeconfig(tmp_path / "k", token=ADMIN_TOKEN, insecure=True)
    proxy = await start_proxy(kubeconfig)
    assert "NOT verified" in caplog.text
    code, _ = await status_of(client, proxy.url)
    assert code == 200


async def test_unreachable_api_server_is_a_503(
    start_proxy: StartProxy, client: aiohttp.ClientSession, tmp_path: Path
) -> None:
    from proxy.testing import write_kubeconfig

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    ca = trustme.CA()
    kubeconfig = write_kubeconfig(
        tmp_path / "k",
        server=f"https://127.0.0.1:{port}",
        ca_pem=ca.cert_pem.bytes(),
        token=ADMIN_TOKEN,
    )
    proxy = await start_proxy(kubeconfig)
    code, body = await status_of(client, proxy.url)
    assert code == 503
    assert body["reason"] == "ServiceUnavailable"
    assert f"127.0.0.1:{port}" in str(body["message"])


async def test_silent_api_server_is_a_504_after_the_connect_timeout(
    start_proxy: StartProxy, client: aiohttp.ClientSession, tmp_path: Path
) -> None:
    from proxy.testing import write_kubeconfig

    accepted: list[object] = []

    async def accept_and_say_nothing(reader: object, writer: object) -> None:
        accepted.append(writer)

    import asyncio

    silent = await asyncio.start_server(accept_and_say_nothing, "127.0.0.1", 0)
    port = silent.sockets[0].getsockname()[1]
    try:
        kubeconfig = write_kubeconfig(
            tmp_path / "k",
            server=f"https://127.0.0.1:{port}",
            ca_pem=trustme.CA().cert_pem.bytes(),
            token=ADMIN_TOKEN,
        )
        proxy = await start_proxy(kubeconfig, connect_timeout=0.3)
        code, body = await status_of(client, proxy.url)
    finally:
        for writer in accepted:
            writer.close()  # type: ignore[attr-defined]
        silent.close()
        await silent.wait_closed()
    assert code == 504
    assert body["reason"] == "Timeout"
