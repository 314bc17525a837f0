"""The listener under bad input and abuse: a clear 4xx each time, and the proxy keeps serving."""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path

import aiohttp
import pytest
import trustme

from proxy.config import LimitsConfig, ListenConfig
from proxy.errors import ConfigError
from proxy.serving.listener_tls import ListenerTLS
from proxy.testing import FakeAPIServer
from tests.conftest import FakeClock
from tests.integration.conftest import RunningProxy, StartProxy, raw_request

LIMITS = LimitsConfig(max_body_bytes=64 * 1024, header_timeout=0.5, max_headers=50)


@pytest.fixture
async def hardened(start_proxy: StartProxy, admin_kubeconfig: Path) -> RunningProxy:
    return await start_proxy(admin_kubeconfig, limits=LIMITS)


def head(*lines: str) -> bytes:
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


HOST = "Host: localhost"
CONFIGMAPS = "/api/v1/namespaces/default/configmaps"
CORPUS = [
    pytest.param(b"\x16\x03\x01\x02\x00garbage\r\n\r\n", 400, id="garbage bytes"),
    pytest.param(
        head("GET /version HTTP/1.1", HOST, "Authorization: Bearer " + "a" * 70_000),
        400,
        id="64 KB token header",
    ),
    pytest.param(
        head("GET /version HTTP/1.1", HOST, *(f"X-H{i}: v" for i in range(200))),
        400,
        id="too many headers",
    ),
    pytest.param(head("GET /" + "a" * 70_000 + " HTTP/1.1", HOST), 400, id="oversized path"),
    pytest.param(
        b"GET /api/v1/namespaces/\xff\xfe HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
        400,
        id="invalid UTF-8 in the path",
    ),
    pytest.param(
        head("GET http://evil.example/api/v1/namespaces HTTP/1.1", HOST, "Connection: close"),
        400,
        id="absolute-form URI",
    ),
    pytest.param(
        head(f"POST {CONFIGMAPS} HTTP/1.1", HOST, "Content-Length: 5", "Transfer-Encoding: chunked")
        + b"0\r\n\r\n",
        400,
        id="Transfer-Encoding with Content-Length",
    ),
    pytest.param(
        b"GET /version HTTP/1.1\r\nHost: localhost\r\nX-Bad: a\rInjected: b\r\n\r\n",
        400,
        id="CR in a header value",
    ),
    pytest.param(
        head(
            f"POST {CONFIGMAPS} HTTP/1.1",
            HOST,
            "Content-Type: application/json",
            "Content-Length: 1000000",
            "Connection: close",
        ),
        413,
        id="declared body over the limit",
    ),
    pytest.param(
        head(
            f"POST {CONFIGMAPS} HTTP/1.1",
            HOST,
            "Content-Type: application/json",
            "Transfer-Encoding: chunked",
            "Connection: close",
        )
        + b"".join(b"4000\r\n" + b"x" * 0x4000 + b"\r\n" for _ in range(8))
        + b"0\r\n\r\n",
        413,
        id="huge chunked body",
    ),
]


@pytest.mark.parametrize(("request_bytes", "code"), CORPUS)
async def test_bad_input_gets_a_clear_4xx_and_the_proxy_keeps_serving(
    hardened: RunningProxy, client: aiohttp.ClientSession, request_bytes: bytes, code: int
) -> None:
    status, body = await raw_request(hardened.port, request_bytes)
    assert status == code, body[:200]
    async with client.get(f"{hardened.url}/version") as response:
        assert response.status == 200


async def test_body_over_the_limit_is_a_413_status(
    hardened: RunningProxy, client: aiohttp.ClientSession
) -> None:
    async with client.post(
        f"{hardened.url}{CONFIGMAPS}",
        data=b"{" + b" " * 100_000 + b"}",
        headers={"Content-Type": "application/json"},
    ) as response:
        assert response.status == 413
        body = await response.json()
    assert body["reason"] == "RequestEntityTooLarge"


async def test_slow_request_head_is_cut_off(hardened: RunningProxy) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", hardened.port)
    try:
        writer.write(b"GET /version HTTP/1.1\r\nHost: local")
        await writer.drain()
        # The proxy closes the connection after --header-timeout (0.5 s here).
        assert await asyncio.wait_for(reader.read(), timeout=5) == b""
    finally:
        writer.close()


async def test_per_client_concurrency_limit(
    apiserver: FakeAPIServer,
    start_proxy: StartProxy,
    admin_kubeconfig: Path,
    client: aiohttp.ClientSession,
) -> None:
    proxy = await start_proxy(admin_kubeconfig, limits=LimitsConfig(max_requests_per_client=2))
    watch = f"{proxy.url}{CONFIGMAPS}?watch=1"
    held = [await client.get(watch) for _ in range(2)]
    try:
        async with client.get(f"{proxy.url}/version") as response:
            assert response.status == 429
            assert (await response.json())["reason"] == "TooManyRequests"
    finally:
        for response in held:
            response.close()
    async with asyncio.timeout(5):
        await apiserver.wait_open_streams(0)
    async with client.get(f"{proxy.url}/version") as response:
        assert response.status == 200


@pytest.mark.parametrize("address", ["0.0.0.0", "::", "192.0.2.10"])
async def test_refuses_to_listen_beyond_loopback_unauthenticated(
    start_proxy: StartProxy, admin_kubeconfig: Path, address: str
) -> None:
    with pytest.raises(ConfigError, match="--authn tokenreview"):
        await start_proxy(admin_kubeconfig, listen=ListenConfig(address=address, port=0))


async def test_listener_certificate_reloaded_when_replaced(tmp_path: Path) -> None:
    ca = trustme.CA()
    cert, key = tmp_path / "tls.crt", tmp_path / "tls.key"

    def install(name: str) -> None:
        leaf = ca.issue_cert("127.0.0.1", common_name=name)
        cert.write_bytes(leaf.cert_chain_pems[0].bytes())
        key.write_bytes(leaf.private_key_pem.bytes())

    install("first")
    clock = FakeClock()
    tls = ListenerTLS(cert_file=cert, key_file=key, clock=clock)
    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0, ssl=tls.context)
    port = server.sockets[0].getsockname()[1]
    client = ssl.create_default_context()
    ca.configure_trust(client)

    async def served_name() -> str:
        _, writer = await asyncio.open_connection("127.0.0.1", port, ssl=client)
        subject = dict(x[0] for x in writer.get_extra_info("peercert")["subject"])
        writer.close()
        return str(subject["commonName"])

    try:
        assert await served_name() == "first"
        install("second")
        clock.advance(11)
        assert await served_name() == "second"
    finally:
        server.close()
        await server.wait_closed()
