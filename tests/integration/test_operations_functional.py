"""Operations: health, metrics, access logs, live reload, several clusters on one port."""

from __future__ import annotations

import asyncio
import logging
import re
from pathlib import Path

import aiohttp
import pytest
import yaml

from proxy.serving.app import RELOADER
from proxy.testing import FakeAPIServer, write_kubeconfig
from tests.conftest import ADMIN_TOKEN, FakeClock
from tests.integration.conftest import RunningProxy, StartProxy


async def get_text(client: aiohttp.ClientSession, url: str) -> tuple[int, str]:
    async with client.get(url) as response:
        return response.status, await response.text()


async def test_readyz_flips_when_the_api_server_stops(
    start_proxy: StartProxy, client: aiohttp.ClientSession, tmp_path: Path
) -> None:
    clock = FakeClock()
    api = FakeAPIServer(tokens={ADMIN_TOKEN: "admin"})
    await api.start()
    try:
        proxy = await start_proxy(api.kubeconfig(tmp_path / "k"), clock=clock)
        assert await get_text(client, f"{proxy.url}/-/readyz") == (200, "ok")
        assert await get_text(client, f"{proxy.url}/-/livez") == (200, "ok")
        code, text = await get_text(client, f"{proxy.url}/-/readyz?verbose")
        assert code == 200 and "[+]credential ok" in text and "[+]upstream ok" in text
    finally:
        await api.stop()
    clock.advance(3)  # past the moment the answer is cached for
    code, text = await get_text(client, f"{proxy.url}/-/readyz")
    assert code == 500 and "[-]upstream failed: reason withheld" in text
    code, text = await get_text(client, f"{proxy.url}/-/readyz?verbose")
    assert "cannot reach the API server" in text and text.endswith("readyz check failed\n")
    assert await get_text(client, f"{proxy.url}/-/livez") == (200, "ok")


async def test_readyz_fails_when_no_credential_can_be_obtained(
    apiserver: FakeAPIServer,
    start_proxy: StartProxy,
    client: aiohttp.ClientSession,
    tmp_path: Path,
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(ADMIN_TOKEN)
    proxy = await start_proxy(apiserver.kubeconfig(tmp_path / "k", token_file=token_file))
    apiserver.remove_token(ADMIN_TOKEN)
    code, text = await get_text(client, f"{proxy.url}/-/readyz?verbose")
    assert code == 500 and "[-]upstream failed: GET /version answered 401" in text


def sample(metrics: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus text format."""
    for line in metrics.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            found = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}")[0]))
            if all(found.get(k) == v for k, v in labels.items()):
                return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no sample {name} {labels}")


async def test_metrics_after_a_known_sequence_of_requests(
    apiserver: FakeAPIServer, proxy: RunningProxy, client: aiohttp.ClientSession
) -> None:
    for _ in range(3):
        async with client.get(f"{proxy.url}/api/v1/namespaces") as response:
            await response.read()
    async with client.get(f"{proxy.url}/api/v1/namespaces/default/configmaps/absent") as r:
        await r.read()
    async with client.post(f"{proxy.url}/api/v1/namespaces/default/pods/x/exec") as r:
        assert r.status == 403  # the filter
    watch = await client.get(f"{proxy.url}/api/v1/namespaces/default/configmaps?watch=1")
    try:
        async with asyncio.timeout(5):
            await apiserver.wait_open_streams(1)
        _, text = await get_text(client, f"{proxy.url}/-/metrics")
        assert sample(text, "kube_auth_proxy_open_streams", kind="watch") == 1
        # The watch; /-/metrics is the proxy's own and not counted.
        assert sample(text, "kube_auth_proxy_requests_in_flight") == 1
    finally:
        watch.close()
    _, text = await get_text(client, f"{proxy.url}/-/metrics")
    assert (
        sample(
            text, "kube_auth_proxy_requests_total", verb="list", code="200", resource="namespaces"
        )
        == 3
    )
    assert (
        sample(
            text, "kube_auth_proxy_requests_total", verb="get", code="404", resource="configmaps"
        )
        == 1
    )
    # Refused by the filter: labelled by why, not by the client's path.
    assert (
        sample(text, "kube_auth_proxy_requests_total", verb="create", code="403", resource="filter")
        == 1
    )
    assert (
        sample(
            text,
            "kube_auth_proxy_request_duration_seconds_count",
            verb="list",
            resource="namespaces",
        )
        == 3
    )
    assert sample(text, "kube_auth_proxy_bytes_total", direction="sent") > 0
    assert sample(text, "kube_auth_proxy_credential_refreshes_total", source="token") == 0


async def test_upstream_errors_counted_by_kind(
    start_proxy: StartProxy, client: aiohttp.ClientSession, tmp_path: Path
) -> None:
    import trustme

    api = FakeAPIServer(tokens={ADMIN_TOKEN: "admin"})
    await api.start()
    wrong_ca = write_kubeconfig(
        tmp_path / "wrong", server=api.url, ca_pem=trustme.CA().cert_pem.bytes(), token=ADMIN_TOKEN
    )
    tls_proxy = await start_proxy(wrong_ca)
    async with client.get(f"{tls_proxy.url}/version") as response:
        assert response.status == 502
    await api.stop()
    _, text = await get_text(client, f"{tls_proxy.url}/-/metrics")
    assert sample(text, "kube_auth_proxy_upstream_errors_total", kind="tls") == 1
    assert sample(text, "kube_auth_proxy_upstream_errors_total", kind="refused") == 0


async def test_access_log_line_without_secrets(
    proxy: RunningProxy, client: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="proxy.access"):
        async with client.get(
            f"{proxy.url}/api/v1/namespaces?limit=1&access_token=leaky-secret",
            headers={"Authorization": "Bearer client-secret"},
        ) as response:
            assert response.status == 200
    lines = [r.getMessage() for r in caplog.records if r.name == "proxy.access"]
    assert len(lines) == 1
    assert re.fullmatch(
        r"GET /api/v1/namespaces\?limit=1&access_token=<redacted> 200 \d+B "
        r"[\d.]+ms",
        lines[0],
    ), lines[0]
    assert "leaky-secret" not in caplog.text and "client-secret" not in caplog.text


def rewrite_token(path: Path, token: str) -> None:
    document = yaml.safe_load(path.read_text())
    document["users"][0]["user"]["token"] = token
    path.write_text(yaml.safe_dump(document))


async def test_reload_after_a_kubeconfig_edit_leaves_open_watches_alone(
    apiserver: FakeAPIServer,
    start_proxy: StartProxy,
    client: aiohttp.ClientSession,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    apiserver.add_token("after-oc-login", "relogged")
    kubeconfig = apiserver.kubeconfig(tmp_path / "k", token=ADMIN_TOKEN)
    proxy = await start_proxy(kubeconfig)
    assert proxy.app is not None
    watch = await client.get(
        f"{proxy.url}/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=0"
    )
    try:
        async with asyncio.timeout(5):
            await apiserver.wait_open_streams(1)
        rewrite_token(kubeconfig, "after-oc-login")
        assert await proxy.app[RELOADER].reload("the kubeconfig changed")
        async with client.get(f"{proxy.url}/api/v1/namespaces") as response:
            assert response.status == 200
        assert apiserver.requests[-1].user == "relogged"
        # The open watch goes on, on the credential it started with.
        apiserver.store.create(
            "configmaps", {"metadata": {"name": "after-reload"}}, namespace="default"
        )
        line = await asyncio.wait_for(watch.content.readline(), 5)
        assert b"after-reload" in line
        assert apiserver.open_streams == 1
    finally:
        watch.close()
    kubeconfig.write_text("users: [not, a, kubeconfig")
    with caplog.at_level(logging.WARNING):
        assert not await proxy.app[RELOADER].reload("the kubeconfig changed")
    assert "keeping the one loaded" in caplog.text
    async with client.get(f"{proxy.url}/api/v1/namespaces") as response:
        assert response.status == 200
    assert apiserver.requests[-1].user == "relogged"


async def test_kubeconfig_watched_for_changes(apiserver: FakeAPIServer, tmp_path: Path) -> None:
    from proxy.config import KubeconfigSource, ServeConfig
    from proxy.ops.reload import Reloader
    from proxy.routing.target import build_target
    from proxy.routing.target_set import LiveTargets, Targets

    kubeconfig = apiserver.kubeconfig(tmp_path / "k")
    source = KubeconfigSource(explicit_path=kubeconfig)
    live = LiveTargets(Targets(current=build_target(source, ServeConfig())))
    reloader = Reloader(
        live=live,
        paths=(kubeconfig,),
        poll_seconds=0.05,
        build=lambda: Targets(current=build_target(source, ServeConfig())),
    )
    watcher = asyncio.ensure_future(reloader.watch())
    try:
        rewrite_token(kubeconfig, "edited")
        async with asyncio.timeout(5):
            while reloader.reloads == 0:  # the watcher has no event to await
                await asyncio.sleep(0.02)
    finally:
        watcher.cancel()
        await live.close()
    assert live.targets.current.context.user.token == "edited"


async def test_several_clusters_on_one_port(
    start_proxy: StartProxy, client: aiohttp.ClientSession, tmp_path: Path
) -> None:
    async with (
        FakeAPIServer(tokens={"token-a": "alice"}) as a,
        FakeAPIServer(tokens={"token-b": "bob"}) as b,
    ):
        first = yaml.safe_load(
            a.kubeconfig(tmp_path / "a", token="token-a", context="east").read_text()
        )
        second = yaml.safe_load(
            b.kubeconfig(tmp_path / "b", token="token-b", context="west").read_text()
        )
        for key in ("clusters", "users", "contexts"):
            first[key] += second[key]
        merged = tmp_path / "merged"
        merged.write_text(yaml.safe_dump(first))
        proxy = await start_proxy(merged, all_contexts=True)
        async with client.get(f"{proxy.url}/clusters") as response:
            listing = await response.json()
        assert [(c["name"], c["current"]) for c in listing["clusters"]] == [
            ("east", True),
            ("west", False),
        ]
        for name, api, user in (("east", a, "alice"), ("west", b, "bob")):
            async with client.get(f"{proxy.url}/clusters/{name}/api/v1/namespaces") as r:
                assert r.status == 200
            assert (api.requests[-1].raw_path, api.requests[-1].user) == (
                "/api/v1/namespaces",
                user,
            )
        async with client.get(f"{proxy.url}/api/v1/namespaces") as response:
            assert response.status == 200
        assert a.requests[-1].user == "alice", "plain paths go to the current context"
        async with client.get(f"{proxy.url}/clusters/north/api/v1/namespaces") as response:
            assert response.status == 404
            assert "north" in (await response.json())["message"]
        async with client.post(
            f"{proxy.url}/clusters/west/api/v1/namespaces/default/pods/web/exec"
        ) as response:
            assert response.status == 403, "the filter judges the path after the prefix"


async def test_unreachable_health_port_paths_are_not_forwarded(
    apiserver: FakeAPIServer, proxy: RunningProxy, client: aiohttp.ClientSession
) -> None:
    before = len(apiserver.requests)
    await get_text(client, f"{proxy.url}/-/livez")
    await get_text(client, f"{proxy.url}/-/metrics")
    assert len(apiserver.requests) == before
    # kubectl proxy compatibility: /healthz is the API server's.
    await get_text(client, f"{proxy.url}/healthz")
    assert apiserver.requests[-1].raw_path == "/healthz"


@pytest.mark.parametrize(("protocol", "stream"), [("auto", "http2"), ("http1", "http1")])
async def test_the_upstream_transport_is_shown_in_the_log_and_the_metrics(
    admin_kubeconfig: Path, start_proxy: StartProxy, client: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture, protocol: str, stream: str,
) -> None:
    with caplog.at_level(logging.INFO, logger="proxy.routing.target"):
        proxy = await start_proxy(admin_kubeconfig, upstream_protocol=protocol)
    assert f"requests over http1, watches and followed logs over {stream}" in caplog.text
    _, text = await get_text(client, f"{proxy.url}/-/metrics")
    for requests, transport in (("rest", "http1"), ("stream", stream)):
        assert sample(
            text, "kube_auth_proxy_upstream_transport_info", requests=requests,
            transport=transport,
        ) == 1
