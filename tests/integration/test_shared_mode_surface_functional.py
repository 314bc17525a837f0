"""Everything the main listener serves, judged as the API is: with `--authn`, only to an
authenticated caller; on loopback, only to a Host `--accept-hosts` accepts. The health
port alone answers probes without a token, and never says why a check failed."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import yaml

from proxy.config import ListenConfig, SecurityConfig
from proxy.serving.app import build_health_app
from proxy.serving.server import ProxyServer
from proxy.testing import FakeAPIServer
from tests.conftest import ADMIN_TOKEN
from tests.integration.conftest import RunningProxy, StartProxy

CALLER_TOKEN = "caller-token"
# A context that cannot be served: its error names a file on the proxy's host.
BROKEN_CA = "missing-ca.crt"
# (method, path) on a proxy with --api-prefix /k8s/, --www, --all-contexts; "fake" is the
# current context, "broken" one that failed to load, "nowhere" one the kubeconfig lacks.
SURFACE = [
    pytest.param("GET", "/-/metrics", id="metrics"),
    pytest.param("GET", "/-/readyz?verbose", id="verbose readyz"),
    pytest.param("HEAD", "/-/readyz", id="readyz HEAD"),
    pytest.param("GET", "/-/livez", id="livez"),
    pytest.param("GET", "/-/healthz", id="healthz"),
    pytest.param("OPTIONS", "/-/metrics", id="OPTIONS on an own endpoint"),
    pytest.param("MKCOL", "/-/metrics", id="odd method on an own endpoint"),
    pytest.param("GET", "/static/index.html", id="www file"),
    pytest.param("HEAD", "/static/index.html", id="www file HEAD"),
    pytest.param("GET", "/static/", id="www directory"),
    pytest.param("GET", "/static/docs/", id="www subdirectory"),
    pytest.param("GET", "/static/missing.html", id="www 404"),
    pytest.param("OPTIONS", "/static/index.html", id="www OPTIONS"),
    pytest.param("PROPFIND", "/static/index.html", id="www odd method"),
    pytest.param("GET", "/k8s/clusters", id="cluster list"),
    pytest.param("GET", "/k8s/clusters/fake/api/v1/namespaces", id="a cluster's API"),
    pytest.param("GET", "/k8s/clusters/broken/api/v1/namespaces", id="a failed cluster"),
    pytest.param("GET", "/k8s/clusters/nowhere/api/v1/namespaces", id="an unknown cluster"),
    pytest.param("GET", "/k8s/api/v1/namespaces", id="API under the prefix"),
    pytest.param("HEAD", "/k8s/api/v1/namespaces", id="API HEAD"),
    pytest.param("OPTIONS", "/k8s/api/v1/namespaces", id="API OPTIONS"),
    pytest.param("PATCH", "/k8s/api/v1/namespaces/default", id="API PATCH"),
    pytest.param("PROPFIND", "/k8s/api/v1/namespaces", id="API odd method"),
    pytest.param("GET", "/api/v1/namespaces", id="outside the api prefix"),
]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def www(tmp_path: Path) -> Path:
    root = tmp_path / "www"
    (root / "docs").mkdir(parents=True)
    (root / "index.html").write_text("<h1>hello</h1>")
    (root / "docs" / "secret-plan.txt").write_text("plan")
    return root


@pytest.fixture
def contexts_kubeconfig(admin_kubeconfig: Path, tmp_path: Path) -> Path:
    """The admin kubeconfig plus a context "broken" whose CA file is missing."""
    config = yaml.safe_load(admin_kubeconfig.read_text())
    server = config["clusters"][0]["cluster"]["server"]
    config["clusters"].append({"name": "broken", "cluster": {
        "server": server, "certificate-authority": str(tmp_path / BROKEN_CA)}})
    config["contexts"].append({"name": "broken", "context": {"cluster": "broken", "user": "fake"}})
    path = tmp_path / "contexts.yaml"
    path.write_text(yaml.safe_dump(config))
    path.chmod(0o600)
    return path


@pytest.fixture
async def shared(
    apiserver: FakeAPIServer, start_proxy: StartProxy, contexts_kubeconfig: Path, www: Path
) -> RunningProxy:
    apiserver.add_token(CALLER_TOKEN, "carol")
    return await start_proxy(contexts_kubeconfig, security=SecurityConfig(authn="tokenreview"),
                             all_contexts=True, www_dir=www, api_prefix="/k8s/")


@pytest.fixture
async def loopback(start_proxy: StartProxy, contexts_kubeconfig: Path, www: Path) -> RunningProxy:
    return await start_proxy(contexts_kubeconfig, all_contexts=True, www_dir=www)


@pytest.fixture
async def health_port(shared: RunningProxy) -> AsyncIterator[str]:
    """The `--health-port` listener beside the shared proxy, as `run` starts it."""
    assert shared.app is not None
    server = ProxyServer(build_health_app(shared.app), ListenConfig(port=0))
    await server.start()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        await server.stop()


@pytest.mark.parametrize("headers", [pytest.param({}, id="no token"),
                                     pytest.param(bearer("not-a-known-token"), id="bad token")])
@pytest.mark.parametrize(("method", "path"), SURFACE)
async def test_every_answer_refused_401_without_an_authenticated_caller(
    apiserver: FakeAPIServer,
    shared: RunningProxy,
    client: aiohttp.ClientSession,
    method: str,
    path: str,
    headers: dict[str, str],
) -> None:
    before = len(apiserver.requests)
    async with client.request(method, shared.url + path, headers=headers) as response:
        assert response.status == 401
        body = await response.read()
    if method != "HEAD":
        status = (await response.json()) if body else {}
        assert (status["kind"], status["code"], status["message"]) == ("Status", 401,
                                                                        "Unauthorized")
    forwarded = [r.raw_path for r in apiserver.requests[before:]]
    assert all(p.endswith("/tokenreviews") for p in forwarded), forwarded


@pytest.mark.parametrize(("method", "path"), SURFACE)
async def test_every_answer_served_to_an_authenticated_caller(
    shared: RunningProxy, client: aiohttp.ClientSession, method: str, path: str
) -> None:
    async with client.request(method, shared.url + path, headers=bearer(CALLER_TOKEN)) as response:
        assert response.status != 401, await response.text()


async def test_authenticated_caller_reads_what_a_loopback_user_reads(
    shared: RunningProxy, client: aiohttp.ClientSession
) -> None:
    async def get(path: str) -> tuple[int, str]:
        async with client.get(shared.url + path, headers=bearer(CALLER_TOKEN)) as response:
            return response.status, await response.text()

    assert await get("/-/livez") == (200, "ok")
    status, text = await get("/-/readyz?verbose")
    assert status == 200 and "[+]credential ok" in text and "[+]upstream ok" in text
    status, text = await get("/-/metrics")
    assert status == 200 and "kube_auth_proxy_requests_total" in text
    assert await get("/static/index.html") == (200, "<h1>hello</h1>")
    status, text = await get("/k8s/clusters")
    assert status == 200 and '"name": "fake"' in text
    status, _ = await get("/k8s/api/v1/namespaces")
    assert status == 200


@pytest.mark.parametrize("path", ["/static/", "/static/docs/"])
async def test_directories_never_listed_when_callers_are_authenticated(
    shared: RunningProxy, client: aiohttp.ClientSession, path: str
) -> None:
    async with client.get(shared.url + path, headers=bearer(CALLER_TOKEN)) as response:
        assert response.status == 403
        text = await response.text()
    assert "index.html" not in text and "secret-plan" not in text


async def test_directories_listed_on_loopback_without_authn_as_kubectl_proxy_does(
    loopback: RunningProxy, client: aiohttp.ClientSession
) -> None:
    async with client.get(f"{loopback.url}/static/docs/") as response:
        assert response.status == 200
        assert "secret-plan.txt" in await response.text()


async def test_health_port_answers_probes_and_scrapes_without_a_token(
    shared: RunningProxy, health_port: str, client: aiohttp.ClientSession
) -> None:
    for path in ("/livez", "/healthz", "/readyz"):
        async with client.get(health_port + path) as response:
            assert (response.status, await response.text()) == (200, "ok"), path
    async with client.get(health_port + "/metrics") as response:
        assert response.status == 200
        assert "kube_auth_proxy_requests_total" in await response.text()
    async with client.get(f"{shared.url}/-/livez") as response:
        assert response.status == 401, "the main listener's copy still needs a caller"


async def test_health_port_verbose_readyz_names_checks_never_reasons(
    apiserver: FakeAPIServer,
    shared: RunningProxy,
    health_port: str,
    client: aiohttp.ClientSession,
) -> None:
    apiserver.remove_token(ADMIN_TOKEN)
    async with client.get(health_port + "/readyz?verbose") as response:
        assert response.status == 500
        text = await response.text()
    assert text == ("[+]ping ok\n[+]credential ok\n[-]upstream failed: reason withheld\n"
                    "readyz check failed\n")


async def test_main_listener_verbose_readyz_gives_reasons_health_port_does_not(
    apiserver: FakeAPIServer,
    start_proxy: StartProxy,
    admin_kubeconfig: Path,
    client: aiohttp.ClientSession,
) -> None:
    proxy = await start_proxy(admin_kubeconfig)
    assert proxy.app is not None
    health = ProxyServer(build_health_app(proxy.app), ListenConfig(port=0))
    await health.start()
    try:
        apiserver.remove_token(ADMIN_TOKEN)
        async with client.get(f"{proxy.url}/-/readyz?verbose") as response:
            assert "[-]upstream failed: GET /version answered 401" in await response.text()
        async with client.get(f"http://127.0.0.1:{health.port}/readyz?verbose") as response:
            text = await response.text()
    finally:
        await health.stop()
    assert "[-]upstream failed: reason withheld\n" in text and "401" not in text


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8001", "localhost.evil.example"])
@pytest.mark.parametrize("path", ["/-/metrics", "/-/readyz", "/-/readyz?verbose", "/-/livez",
                                  "/static/index.html", "/static/", "/static/missing",
                                  "/clusters", "/clusters/nowhere/api"])
async def test_own_answers_refused_403_to_a_host_the_filter_does_not_accept(
    loopback: RunningProxy, client: aiohttp.ClientSession, path: str, host: str
) -> None:
    async with client.get(loopback.url + path, headers={"Host": host}) as response:
        assert response.status == 403
        status = await response.json()
    assert (status["kind"], status["code"]) == ("Status", 403)
    assert "filter" in status["message"]


@pytest.mark.parametrize("path", ["/-/metrics", "/-/readyz", "/static/index.html", "/clusters"])
async def test_own_answers_served_to_an_accepted_host(
    loopback: RunningProxy, client: aiohttp.ClientSession, path: str
) -> None:
    async with client.get(loopback.url + path,
                          headers={"Host": f"localhost:{loopback.port}"}) as response:
        assert response.status == 200


async def test_cluster_list_and_refusal_never_carry_kubeconfig_error_text(
    loopback: RunningProxy, client: aiohttp.ClientSession
) -> None:
    async with client.get(f"{loopback.url}/clusters") as response:
        listing = await response.json()
    assert listing["failed"] == [{"name": "broken", "error": "failed to load; see the proxy's log"}]
    async with client.get(f"{loopback.url}/clusters/broken/api/v1/namespaces") as response:
        assert response.status == 404
        refusal = await response.json()
    assert refusal["message"] == (
        'cluster "broken" is not served: failed to load; see the proxy\'s log')
    assert BROKEN_CA not in str(listing) + str(refusal)


async def test_failed_context_reason_is_in_the_log(
    start_proxy: StartProxy, contexts_kubeconfig: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="proxy.routing.target_set"):
        await start_proxy(contexts_kubeconfig, all_contexts=True)
    assert any("broken" in r.getMessage() and BROKEN_CA in r.getMessage()
               for r in caplog.records)
