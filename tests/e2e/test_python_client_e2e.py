"""The official `kubernetes` Python client, configured with only the proxy's URL."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from proxy.testing import FakeAPIServer
from tests.e2e.conftest import ProxyProcess, SpawnProxy

kubernetes = pytest.importorskip("kubernetes", reason="the official client is a test extra")


@pytest.fixture
async def proxy(admin_kubeconfig: Path, spawn_proxy: SpawnProxy) -> ProxyProcess:
    return await spawn_proxy("--kubeconfig", str(admin_kubeconfig))


def core_api(proxy: ProxyProcess):  # type: ignore[no-untyped-def]
    configuration = kubernetes.client.Configuration()
    configuration.host = proxy.url
    return kubernetes.client.CoreV1Api(kubernetes.client.ApiClient(configuration))


async def test_official_client_lists_and_creates(proxy: ProxyProcess) -> None:
    api = core_api(proxy)
    # The client is synchronous: run it off the loop that serves the fake API server.
    namespaces = await asyncio.to_thread(api.list_namespace)
    assert "default" in [ns.metadata.name for ns in namespaces.items]
    body = kubernetes.client.V1ConfigMap(
        metadata=kubernetes.client.V1ObjectMeta(name="from-python"), data={"x": "1"}
    )
    created = await asyncio.to_thread(api.create_namespaced_config_map, "default", body)
    assert created.metadata.resource_version
    listed = await asyncio.to_thread(api.list_namespaced_config_map, "default")
    assert "from-python" in [cm.metadata.name for cm in listed.items]


async def test_official_client_watches(proxy: ProxyProcess) -> None:
    api = core_api(proxy)
    body = kubernetes.client.V1ConfigMap(metadata=kubernetes.client.V1ObjectMeta(name="watched"))
    await asyncio.to_thread(api.create_namespaced_config_map, "default", body)

    def first_events() -> list[tuple[str, str]]:
        watch = kubernetes.watch.Watch()
        seen = []
        for event in watch.stream(api.list_namespaced_config_map, "default", timeout_seconds=5):
            seen.append((event["type"], event["object"].metadata.name))
            if event["object"].metadata.name == "watched":
                watch.stop()
        return seen

    events = await asyncio.to_thread(first_events)
    assert ("ADDED", "watched") in events


async def test_official_client_creates_patches_and_deletes_a_configmap(
    apiserver: FakeAPIServer, proxy: ProxyProcess
) -> None:
    """The client sends POST bodies without a Content-Type; the API server must see none
    (it reads them as JSON) rather than one the proxy made up (a 415 from a real one)."""
    api = core_api(proxy)
    first = len(apiserver.requests)
    body = kubernetes.client.V1ConfigMap(
        metadata=kubernetes.client.V1ObjectMeta(name="round-trip"), data={"x": "1"}
    )
    await asyncio.to_thread(api.create_namespaced_config_map, "default", body)
    merged = await asyncio.to_thread(
        api.patch_namespaced_config_map,
        "round-trip",
        "default",
        {"data": {"y": "2"}},
        _content_type="application/merge-patch+json",
    )
    assert merged.data == {"x": "1", "y": "2"}
    strategic = await asyncio.to_thread(
        api.patch_namespaced_config_map,
        "round-trip",
        "default",
        {"metadata": {"labels": {"patched": "strategic"}}},
    )
    assert strategic.metadata.labels == {"patched": "strategic"}
    assert strategic.data == {"x": "1", "y": "2"}
    await asyncio.to_thread(api.delete_namespaced_config_map, "round-trip", "default")
    with pytest.raises(kubernetes.client.ApiException) as gone:
        await asyncio.to_thread(api.read_namespaced_config_map, "round-trip", "default")
    assert gone.value.status == 404

    writes = [r for r in apiserver.requests[first:] if r.method in ("POST", "PATCH", "DELETE")]
    assert [(r.method, r.headers.get("Content-Type")) for r in writes] == [
        ("POST", None),
        ("PATCH", "application/merge-patch+json"),
        ("PATCH", "application/strategic-merge-patch+json"),
        ("DELETE", None),
    ]
    assert all(r.headers["User-Agent"].startswith("OpenAPI-Generator/") for r in writes)
