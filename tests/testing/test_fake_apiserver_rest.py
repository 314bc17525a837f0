"""CRUD, lists, errors, tables, discovery and OpenAPI of the fake API server, over real TLS."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest

from proxy.testing import FakeAPIServer

CM_PATH = "/api/v1/namespaces/default/configmaps"
TABLE_ACCEPT = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"


def configmap(name: str, **labels: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "labels": labels},
        "data": {"k": "v"},
    }


async def _json(response: aiohttp.ClientResponse) -> Any:
    return await response.json()


async def test_create_get_update_delete_configmap(
    session: aiohttp.ClientSession, auth: dict[str, str]
) -> None:
    async with session.post(CM_PATH, json=configmap("a"), headers=auth) as response:
        assert response.status == 201
        created = await _json(response)
    metadata = created["metadata"]
    assert created["kind"] == "ConfigMap"
    assert metadata["namespace"] == "default"
    assert metadata["uid"] and metadata["creationTimestamp"].endswith("Z")
    async with session.get(f"{CM_PATH}/a", headers=auth) as response:
        assert await _json(response) == created
    created["data"] = {"k": "v2"}
    async with session.put(f"{CM_PATH}/a", json=created, headers=auth) as response:
        updated = await _json(response)
    assert int(updated["metadata"]["resourceVersion"]) > int(metadata["resourceVersion"])
    async with session.delete(f"{CM_PATH}/a", headers=auth) as response:
        body = await _json(response)
    assert body["kind"] == "Status" and body["status"] == "Success"
    assert body["details"] == {"name": "a", "kind": "configmaps", "uid": metadata["uid"]}
    async with session.get(f"{CM_PATH}/a", headers=auth) as response:
        assert response.status == 404


async def test_missing_object_is_404_status_with_details(
    session: aiohttp.ClientSession, auth: dict[str, str]
) -> None:
    async with session.get(f"{CM_PATH}/x", headers=auth) as response:
        assert response.status == 404
        assert await _json(response) == {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": 'configmaps "x" not found',
            "reason": "NotFound",
            "details": {"name": "x", "kind": "configmaps"},
            "code": 404,
        }


async def test_create_twice_is_409_already_exists(
    session: aiohttp.ClientSession, auth: dict[str, str]
) -> None:
    async with session.post(CM_PATH, json=configmap("a"), headers=auth):
        pass
    async with session.post(CM_PATH, json=configmap("a"), headers=auth) as response:
        assert response.status == 409
        assert (await _json(response))["reason"] == "AlreadyExists"


async def test_update_with_stale_resource_version_is_409_conflict(
    api: FakeAPIServer, session: aiohttp.ClientSession, auth: dict[str, str]
) -> None:
    stale = api.store.create("configmaps", configmap("a"), namespace="default")
    api.store.update("configmaps", {**stale, "data": {"k": "new"}}, namespace="default")
    async with session.put(f"{CM_PATH}/a", json=stale, headers=auth) as response:
        assert response.status == 409
        assert (await _json(response))["reason"] == "Conflict"


async def test_create_in_missing_namespace_is_404(
    session: aiohttp.ClientSession, auth: dict[str, str]
) -> None:
    path = "/api/v1/namespaces/nope/configmaps"
    async with session.post(path, json=configmap("a"), headers=auth) as response:
        assert response.status == 404
        assert (await _json(response))["message"] == 'namespaces "nope" not found'


async def test_undecodable_body_is_400(
    session: aiohttp.ClientSession, auth: dict[str, str]
) -> None:
    headers = {**auth, "Content-Type": "application/json"}
    async with session.post(CM_PATH, data=b"{not json", headers=headers) as response:
        assert response.status == 400
        assert (await _json(response))["reason"] == "BadRequest"


async def test_unsupported_verb_is_405(
    session: aiohttp.ClientSession, auth: dict[str, str]
) -> None:
    async with session.post(f"{CM_PATH}/a", json=configmap("a"), headers=auth) as response:
        assert response.status == 405
        assert (await _json(response))["reason"] == "MethodNotAllowed"


@pytest.mark.parametrize(
    ("content_type", "patch"),
    [
        ("application/merge-patch+json", {"data": {"k": None, "n": "1"}}),
        ("application/strategic-merge-patch+json", {"data": {"k": None, "n": "1"}}),
        (
            "application/json-patch+json",
            [{"op": "remove", "path": "/data/k"}, {"op": "add", "path": "/data/n", "value": "1"}],
        ),
    ],
    ids=["merge patch", "strategic merge patch", "json patch"],
)
async def test_patch_flavours(
    api: FakeAPIServer,
    session: aiohttp.ClientSession,
    auth: dict[str, str],
    content_type: str,
    patch: Any,
) -> None:
    api.store.create("configmaps", configmap("a"), namespace="default")
    headers = {**auth, "Content-Type": content_type}
    async with session.patch(f"{CM_PATH}/a", json=patch, headers=headers) as response:
        assert response.status == 200
        assert (await _json(response))["data"] == {"n": "1"}


async def test_dry_run_changes_nothing(
    api: FakeAPIServer, session: aiohttp.ClientSession, auth: dict[str, str]
) -> None:
    before = api.store.resource_version
    url = f"{CM_PATH}?dryRun=All&fieldManager=me&fieldValidation=Strict"
    async with session.post(url, json=configmap("a"), headers=auth) as response:
        assert response.status == 201
    assert api.store.resource_version == before
    assert api.store.list("configmaps", namespace="default") == []


async def test_list_pages_with_limit_and_continue(
    api: FakeAPIServer, session: aiohttp.ClientSession, auth: dict[str, str]
) -> None:
    for index in range(5):
        api.store.create("configmaps", configmap(f"cm{index}"), namespace="default")
    names: list[str] = []
    url = f"{CM_PATH}?limit=2"
    pages = []
    while True:
        async with session.get(url, headers=auth) as response:
            page = await _json(response)
        pages.append(page)
        assert page["kind"] == "ConfigMapList"
        assert all("kind" not in item for item in page["items"])
        names += [item["metadata"]["name"] for item in page["items"]]
        token = page["metadata"].get("continue")
        if not token:
            break
        url = f"{CM_PATH}?limit=2&continue={token}"
    assert names == [f"cm{i}" for i in range(5)]
    assert [p["metadata"].get("remainingItemCount") for p in pages] == [3, 1, None]
    assert len({p["metadata"]["resourceVersion"] for p in pages}) == 1


async def test_label_and_field_selectors_filter_lists(
    api: FakeAPIServer, session: aiohttp.ClientSession, auth: dict[str, str]
) -> None:
    api.store.create("configmaps", configmap("a", app="x"), namespace="default")
    api.store.create("configmaps", configmap("b", app="y"), namespace="default")
    api.store.create("configmaps", configmap("c"), namespace="kube-system")
    cases = {
        "labelSelector=app%3Dx": ["a"],
        "labelSelector=app%21%3Dx": ["b", "c"],
        "labelSelector=app": ["a", "b"],
        "fieldSelector=metadata.name%3Db": ["b"],
    }
    for query, expected in cases.items():
        async with session.get(f"/api/v1/configmaps?{query}", headers=auth) as response:
            items = (await _json(response))["items"]
        assert [item["metadata"]["name"] for item in items] == expected, query


async def test_table_output_for_kubectl(
    api: FakeAPIServer, session: aiohttp.ClientSession, auth: dict[str, str]
) -> None:
    api.store.create("configmaps", configmap("a"), namespace="default")
    headers = {**auth, "Accept": TABLE_ACCEPT}
    async with session.get(CM_PATH, headers=headers) as response:
        table = await _json(response)
    assert table["kind"] == "Table" and table["apiVersion"] == "meta.k8s.io/v1"
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Data", "Age"]
    row = table["rows"][0]
    assert row["cells"][:2] == ["a", 1]
    assert row["object"]["kind"] == "PartialObjectMetadata"
    async with session.get(f"{CM_PATH}?includeObject=Object", headers=headers) as response:
        assert (await _json(response))["rows"][0]["object"]["kind"] == "ConfigMap"


async def test_discovery_documents(session: aiohttp.ClientSession, auth: dict[str, str]) -> None:
    async with session.get("/api", headers=auth) as response:
        assert (await _json(response))["versions"] == ["v1"]
    async with session.get("/api/v1", headers=auth) as response:
        resources = {r["name"]: r for r in (await _json(response))["resources"]}
    assert resources["configmaps"]["shortNames"] == ["cm"]
    assert resources["pods/log"]["verbs"] == ["get"]
    assert resources["namespaces"]["namespaced"] is False
    async with session.get("/apis", headers=auth) as response:
        assert (await _json(response))["kind"] == "APIGroupList"
    async with session.get("/healthz", headers=auth) as response:
        assert await response.text() == "ok"


async def test_openapi_v2_is_a_few_megabytes_with_etag(
    session: aiohttp.ClientSession, auth: dict[str, str]
) -> None:
    async with session.get("/openapi/v2", headers=auth) as response:
        assert response.headers["Content-Type"] == "application/json"
        body = await response.read()
        etag = response.headers["ETag"]
    assert 2_000_000 <= len(body) <= 5_000_000
    headers = {**auth, "If-None-Match": etag}
    async with session.get("/openapi/v2", headers=headers) as response:
        assert response.status == 304
    proto = {**auth, "Accept": "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"}
    async with session.get("/openapi/v2", headers=proto) as response:
        assert response.status == 200
        content_type = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
        assert response.headers["Content-Type"] == content_type
    plain = {**auth, "Accept": "text/html"}
    async with session.get("/openapi/v2", headers=plain) as response:
        assert response.status == 406


async def test_openapi_v3_index_points_at_documents(
    session: aiohttp.ClientSession, auth: dict[str, str]
) -> None:
    async with session.get("/openapi/v3", headers=auth) as response:
        assert response.headers["Content-Type"] == "text/plain; charset=utf-8"  # as kube-openapi
        index = json.loads(await response.text())
    url = index["paths"]["api/v1"]["serverRelativeURL"]
    async with session.get(url, headers=auth) as response:
        assert response.headers["Cache-Control"] == "public, immutable"
        document = await _json(response)
    assert document["openapi"].startswith("3.")
    assert "io.k8s.api.core.v1.ConfigMap" in document["components"]["schemas"]


async def test_large_list_is_gzipped_when_client_accepts_it(
    api: FakeAPIServer, session: aiohttp.ClientSession, auth: dict[str, str]
) -> None:
    big = {"metadata": {"name": "big"}, "data": {"k": "x" * 200_000}}
    api.store.create("configmaps", big, namespace="default")
    headers = {**auth, "Accept-Encoding": "gzip"}
    async with session.get(CM_PATH, headers=headers, auto_decompress=False) as response:
        assert response.headers["Content-Encoding"] == "gzip"


async def test_no_answer_names_a_server(
    session: aiohttp.ClientSession, auth: dict[str, str]
) -> None:
    """A kube-apiserver (Go's net/http) sends no `Server`; the fake, aiohttp, would by default."""
    for path, headers in ((CM_PATH, auth), ("/nope", auth), (CM_PATH, {}), ("/version", auth)):
        async with session.get(path, headers=headers) as response:
            assert "Server" not in response.headers, (path, response.status)
