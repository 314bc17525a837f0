"""The official `kubernetes` Python client, configured with only the proxy's URL."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

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
