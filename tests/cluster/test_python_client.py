"""The official Python client, configured from a kubeconfig naming only the proxy's URL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.cluster.harness import ProxyProcess

kubernetes = pytest.importorskip("kubernetes", reason="the official client is a test extra")
MERGE_PATCH = "application/merge-patch+json"


@pytest.fixture
def core(proxy: ProxyProcess) -> Iterator[Any]:
    """CoreV1Api through the proxy; its connection pool is closed afterwards."""
    with kubernetes.config.new_client_from_config(config_file=str(proxy.kubeconfig)) as client:
        yield kubernetes.client.CoreV1Api(client)


def configmap(name: str, data: dict[str, str]) -> Any:
    return kubernetes.client.V1ConfigMap(
        metadata=kubernetes.client.V1ObjectMeta(name=name), data=data)


def test_python_client_creates_lists_patches_and_deletes(core: Any, namespace: str) -> None:
    name = "python-made"
    created = core.create_namespaced_config_map(namespace, configmap(name, {"a": "1", "b": "2"}))
    assert created.metadata.resource_version
    listed = core.list_namespaced_config_map(namespace)
    assert name in [item.metadata.name for item in listed.items]
    # A dict body is sent as a strategic merge patch; a null in a merge patch removes the key.
    core.patch_namespaced_config_map(
        name, namespace, {"metadata": {"labels": {"patched": "strategic"}}, "data": {"c": "3"}})
    core.patch_namespaced_config_map(name, namespace, {"data": {"a": None}},
                                     _content_type=MERGE_PATCH)
    patched = core.read_namespaced_config_map(name, namespace)
    assert patched.data == {"b": "2", "c": "3"}
    assert patched.metadata.labels == {"patched": "strategic"}
    core.delete_namespaced_config_map(name, namespace)
    with pytest.raises(kubernetes.client.ApiException) as gone:
        core.read_namespaced_config_map(name, namespace)
    assert gone.value.status == 404


def test_python_client_watch_sees_changes_made_while_watching(core: Any, namespace: str) -> None:
    name = "python-watched"
    version = core.list_namespaced_config_map(namespace).metadata.resource_version
    core.create_namespaced_config_map(namespace, configmap(name, {"step": "created"}))
    watch = kubernetes.watch.Watch()
    seen: list[tuple[str, str | None]] = []
    # Each change below is made only once the event of the one before has arrived.
    changes: Iterator[Callable[[], Any]] = iter([
        lambda: core.patch_namespaced_config_map(name, namespace, {"data": {"step": "patched"}}),
        lambda: core.delete_namespaced_config_map(name, namespace),
    ])
    for event in watch.stream(core.list_namespaced_config_map, namespace,
                              resource_version=version, timeout_seconds=20):
        if event["object"].metadata.name != name:
            continue
        seen.append((event["type"], (event["object"].data or {}).get("step")))
        change = next(changes, None)
        if change is None:
            watch.stop()
        else:
            change()
    assert seen == [("ADDED", "created"), ("MODIFIED", "patched"), ("DELETED", "patched")]
