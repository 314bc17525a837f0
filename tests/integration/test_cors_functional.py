"""CORS on real sockets: preflights answered by the proxy and never forwarded, the CORS headers
on every response to a listed page (the proxy's own errors too) and on none to another, the
upstream's Access-Control-* headers replaced, and WebSockets from listed and unlisted pages."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from proxy.config import CorsConfig, SecurityConfig
from proxy.errors import ConfigError
from proxy.testing import FakeAPIServer
from proxy.testing.kubeconfig import write_kubeconfig
from tests.integration.conftest import RunningProxy, StartProxy

PAGE = "http://127.0.0.1:9000"
OTHER_PAGE = "http://127.0.0.1:9001"
DASH = "https://dash.example.com"
LISTED = CorsConfig(allowed_origins=("http://127\\.0\\.0\\.1:9000", "^https://dash\\.example\\.com$"))
CONFIGMAPS = "/api/v1/namespaces/default/configmaps"


def access_control(headers: Mapping[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items() if k.lower().startswith("access-control")}


def upstream_methods(api: FakeAPIServer, method: str) -> list[str]:
    return [r.raw_path for r in api.requests if r.method == method]


async def curl_head(*args: str) -> tuple[int, dict[str, str]]:
    """`curl -i` as a user would type it: the status and the response's headers."""
    curl = shutil.which("curl")
    assert curl is not None, "curl is needed (.ci/run installs it)"
    process = await asyncio.create_subprocess_exec(
        curl, "-sS", "-i", "--max-time", "5", *args, stdout=asyncio.subprocess.PIPE
    )
    output, _ = await process.communicate()
    assert process.returncode == 0
    head = output.decode().split("\r\n\r\n", 1)[0].split("\r\n")
    headers = {}
    for line in head[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(head[0].split()[1]), headers


@pytest.fixture
async def cors_proxy(start_proxy: StartProxy, admin_kubeconfig: Path) -> RunningProxy:
    return await start_proxy(admin_kubeconfig, cors=LISTED)


async def test_preflight_answered_by_proxy_when_origin_listed(
    apiserver: FakeAPIServer, cors_proxy: RunningProxy
) -> None:
    status, headers = await curl_head(
        "-X", "OPTIONS", "-H", f"Origin: {PAGE}", "-H", "Access-Control-Request-Method: DELETE",
        "-H", "Access-Control-Request-Headers: content-type, authorization",
        f"{cors_proxy.url}{CONFIGMAPS}/x",
    )
    assert status == 204
    assert headers["access-control-allow-origin"] == PAGE
    assert "DELETE" in headers["access-control-allow-methods"].split(", ")
    allowed = {h.lower() for h in headers["access-control-allow-headers"].split(", ")}
    assert {"content-type", "authorization"} <= allowed
    assert "Audit-Id" in headers["access-control-expose-headers"]
    assert int(headers["access-control-max-age"]) > 0
    assert headers["access-control-allow-credentials"] == "true"  # listed literally
    assert "Origin" in headers["vary"]
    assert upstream_methods(apiserver, "OPTIONS") == []


async def test_preflight_refused_without_cors_headers_when_origin_not_listed(
    apiserver: FakeAPIServer, cors_proxy: RunningProxy
) -> None:
    status, headers = await curl_head(
        "-X", "OPTIONS", "-H", f"Origin: {OTHER_PAGE}",
        "-H", "Access-Control-Request-Method: DELETE",
        f"{cors_proxy.url}{CONFIGMAPS}/x",
    )
    assert status == 403
    assert access_control(headers) == {}
    assert upstream_methods(apiserver, "OPTIONS") == []


async def test_preflight_answered_without_authentication(
    apiserver: FakeAPIServer, start_proxy: StartProxy, admin_kubeconfig: Path,
    client: aiohttp.ClientSession,
) -> None:
    proxy = await start_proxy(admin_kubeconfig, cors=LISTED,
                              security=SecurityConfig(authn="tokenreview"))
    async with client.options(f"{proxy.url}{CONFIGMAPS}", headers={
        "Origin": PAGE, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization"}) as response:
        assert response.status == 204
        assert response.headers["Access-Control-Allow-Origin"] == PAGE
    assert apiserver.requests == []  # no TokenReview, nothing forwarded


async def test_forwarded_response_carries_cors_headers_for_listed_origin(
    cors_proxy: RunningProxy, client: aiohttp.ClientSession
) -> None:
    async with client.get(f"{cors_proxy.url}{CONFIGMAPS}", headers={"Origin": DASH}) as response:
        assert response.status == 200
        assert response.headers["Access-Control-Allow-Origin"] == DASH
        assert response.headers.getall("Access-Control-Allow-Origin") == [DASH]
        assert "Warning" in response.headers["Access-Control-Expose-Headers"]
        assert "Origin" in response.headers["Vary"]


async def test_unlisted_origin_served_without_cors_headers(
    apiserver: FakeAPIServer, cors_proxy: RunningProxy, client: aiohttp.ClientSession
) -> None:
    """Same-origin pages send an Origin on writes: they are served; the browser needs no CORS."""
    async with client.get(f"{cors_proxy.url}{CONFIGMAPS}",
                          headers={"Origin": OTHER_PAGE}) as response:
        assert response.status == 200
        assert access_control(response.headers) == {}


async def test_request_without_origin_unaffected(
    apiserver: FakeAPIServer, cors_proxy: RunningProxy, client: aiohttp.ClientSession
) -> None:
    async with client.get(f"{cors_proxy.url}{CONFIGMAPS}") as response:
        assert response.status == 200
        assert access_control(response.headers) == {}
        assert "Origin" not in response.headers.get("Vary", "")
    async with client.options(f"{cors_proxy.url}{CONFIGMAPS}") as response:
        pass  # an OPTIONS that is no preflight goes upstream, as without CORS
    assert upstream_methods(apiserver, "OPTIONS") == [CONFIGMAPS]


async def test_proxy_own_errors_carry_cors_headers_for_listed_origin(
    start_proxy: StartProxy, admin_kubeconfig: Path, client: aiohttp.ClientSession
) -> None:
    proxy = await start_proxy(admin_kubeconfig, cors=LISTED,
                              security=SecurityConfig(authn="tokenreview"))
    exec_path = "/api/v1/namespaces/default/pods/web/exec"
    for method, path, expected in (("POST", exec_path, 403), ("GET", CONFIGMAPS, 401)):
        async with client.request(method, f"{proxy.url}{path}",
                                  headers={"Origin": PAGE}) as response:
            assert response.status == expected
            assert (await response.json())["kind"] == "Status"
            assert response.headers["Access-Control-Allow-Origin"] == PAGE
            assert "Origin" in response.headers["Vary"]
        async with client.request(method, f"{proxy.url}{path}",
                                  headers={"Origin": OTHER_PAGE}) as response:
            assert response.status == expected
            assert access_control(response.headers) == {}


async def test_upstream_unreachable_error_carries_cors_headers(
    start_proxy: StartProxy, client: aiohttp.ClientSession, tmp_path: Path
) -> None:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    kubeconfig = write_kubeconfig(tmp_path / "k", server=f"http://127.0.0.1:{port}", token="t")
    proxy = await start_proxy(kubeconfig, cors=LISTED)
    async with client.get(f"{proxy.url}{CONFIGMAPS}", headers={"Origin": PAGE}) as response:
        assert response.status == 503  # the proxy's own Status: no API server answered
        assert (await response.json())["kind"] == "Status"
        assert response.headers["Access-Control-Allow-Origin"] == PAGE


@pytest.fixture
async def permissive_upstream() -> AsyncIterator[str]:
    """An API server of its own CORS opinion: any origin, with credentials."""

    async def answer(request: web.Request) -> web.Response:
        return web.json_response({"kind": "ConfigMapList", "items": []}, headers={
            "Access-Control-Allow-Origin": "*",
            "Access-Control-Allow-Credentials": "true",
            "Access-Control-Expose-Headers": "Secret-Header",
        })

    app = web.Application()
    app.router.add_get("/{path:.*}", answer)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def test_upstream_access_control_headers_replaced_by_the_proxy(
    start_proxy: StartProxy, permissive_upstream: str, client: aiohttp.ClientSession,
    tmp_path: Path,
) -> None:
    kubeconfig = write_kubeconfig(tmp_path / "k", server=permissive_upstream, token="t")
    proxy = await start_proxy(
        kubeconfig, cors=CorsConfig(allowed_origins=("https://[a-z]+\\.example\\.com",)))
    url = f"{proxy.url}{CONFIGMAPS}"
    async with client.get(url, headers={"Origin": DASH}) as response:
        headers = access_control(response.headers)
        assert headers["access-control-allow-origin"] == DASH
        assert "access-control-allow-credentials" not in headers  # listed by a pattern only
        assert "Secret-Header" not in headers["access-control-expose-headers"]
    for origin in ({"Origin": "https://attacker.invalid"}, {}):
        async with client.get(url, headers=origin) as response:
            assert response.status == 200
            assert access_control(response.headers) == {}


async def test_upstream_access_control_headers_kept_when_cors_off(
    start_proxy: StartProxy, permissive_upstream: str, client: aiohttp.ClientSession,
    tmp_path: Path,
) -> None:
    kubeconfig = write_kubeconfig(tmp_path / "k", server=permissive_upstream, token="t")
    proxy = await start_proxy(kubeconfig)
    async with client.get(f"{proxy.url}{CONFIGMAPS}", headers={"Origin": DASH}) as response:
        assert response.headers["Access-Control-Allow-Origin"] == "*"


def ws_url(proxy: RunningProxy) -> str:
    return proxy.url.replace("http://", "ws://") + f"{CONFIGMAPS}?watch=true"


async def test_websocket_watch_from_listed_origin_opens_though_accept_hosts_would_refuse(
    apiserver: FakeAPIServer, cors_proxy: RunningProxy, client: aiohttp.ClientSession
) -> None:
    """dash.example.com is no host --accept-hosts accepts: the CORS list is the allow-list."""
    async with client.ws_connect(ws_url(cors_proxy), origin=DASH) as ws:
        await apiserver.wait_open_streams(1)
        apiserver.store.create("configmaps", {"metadata": {"name": "a"}}, namespace="default")
        message = await ws.receive(timeout=5)
        assert '"ADDED"' in message.data


async def test_websocket_from_unlisted_page_refused_when_cors_on(
    apiserver: FakeAPIServer, cors_proxy: RunningProxy, client: aiohttp.ClientSession
) -> None:
    """127.0.0.1:9001 is a host --accept-hosts accepts; with CORS on, only listed pages pass."""
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await client.ws_connect(ws_url(cors_proxy), origin=OTHER_PAGE)
    assert refused.value.status == 403
    assert not any("watch=" in r.raw_path for r in apiserver.requests)


async def test_websocket_from_proxy_own_origin_accepted_when_cors_on(
    apiserver: FakeAPIServer, cors_proxy: RunningProxy, client: aiohttp.ClientSession
) -> None:
    async with client.ws_connect(ws_url(cors_proxy), origin=cors_proxy.url):
        await apiserver.wait_open_streams(1)


async def test_any_site_expression_refused_before_listening(
    start_proxy: StartProxy, admin_kubeconfig: Path
) -> None:
    with pytest.raises(ConfigError, match="--insecure-allow-any-cors-origin"):
        await start_proxy(admin_kubeconfig, cors=CorsConfig(allowed_origins=("https?://.*",)))


async def test_any_site_expression_served_with_insecure_flag(
    start_proxy: StartProxy, admin_kubeconfig: Path, client: aiohttp.ClientSession
) -> None:
    proxy = await start_proxy(admin_kubeconfig, cors=CorsConfig(
        allowed_origins=("https?://.*",), allow_any_origin=True))
    async with client.get(f"{proxy.url}{CONFIGMAPS}",
                          headers={"Origin": "https://anything.example"}) as response:
        assert response.headers["Access-Control-Allow-Origin"] == "https://anything.example"
        assert "Access-Control-Allow-Credentials" not in response.headers
