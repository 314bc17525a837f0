"""The fake answers writes and reads as kube-apiserver 1.32 does, over real TLS.

Each test pins one behaviour the corpus recorded (or its rule), so a regression shows
here even without the corpus: Content-Types, decoding and fieldValidation, validation,
server-side apply, DeleteOptions, resourceVersion semantics, Accept negotiation.
"""

from __future__ import annotations

import gzip
import io
import json
from typing import Any

import aiohttp
import pytest
import yaml

from proxy.testing import FakeAPIServer

CM_PATH = "/api/v1/namespaces/default/configmaps"
APPLY = "application/apply-patch+yaml"


def configmap(name: str, **extra: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, **extra}


async def _post(
    session: aiohttp.ClientSession, auth: dict[str, str], body: bytes, content_type: str | None,
    *, query: str = "",
) -> tuple[int, Any, aiohttp.ClientResponse]:
    headers = dict(auth)
    if content_type is not None:
        headers["Content-Type"] = content_type
    async with session.post(
        CM_PATH + query, data=io.BytesIO(body), headers=headers, skip_auto_headers=("Content-Type",)
    ) as response:
        return response.status, await response.json(), response


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/octet-stream", "application/cbor"]
)
async def test_create_is_415_for_a_media_type_it_cannot_decode(
    session: aiohttp.ClientSession, auth: dict[str, str], content_type: str
) -> None:
    status, body, _ = await _post(
        session, auth, json.dumps(configmap("x")).encode(), content_type
    )
    assert status == 415
    assert body["reason"] == "UnsupportedMediaType"
    assert body["message"].endswith(
        "application/json, application/yaml, application/vnd.kubernetes.protobuf"
    )


async def test_create_without_content_type_is_decoded_as_json(
    session: aiohttp.ClientSession, auth: dict[str, str]
) -> None:
    status, body, _ = await _post(session, auth, json.dumps(configmap("plain")).encode(), None)
    assert (status, body["kind"], body["metadata"]["name"]) == (201, "ConfigMap", "plain")


async def test_create_unknown_field_warns_by_default_and_is_400_when_strict(
    session: aiohttp.ClientSession, auth: dict[str, str]
) -> None:
    raw = json.dumps(configmap("u", spec={"x": 1})).encode()
    status, _, response = await _post(session, auth, raw, "application/json")
    assert status == 201
    assert response.headers.getall("Warning") == ['299 - "unknown field \\"spec\\""']
    status, body, _ = await _post(
        session, auth, raw.replace(b'"u"', b'"u2"'), "application/json",
        query="?fieldValidation=Strict",
    )
    assert status == 400
    assert body["message"].endswith('strict decoding error: unknown field "spec"')


async def test_create_with_wrong_json_type_is_400_with_gos_message(
    session: aiohttp.ClientSession, auth: dict[str, str]
) -> None:
    raw = json.dumps(configmap("n", data={"k": 1})).encode()
    status, body, _ = await _post(session, auth, raw, "application/json")
    assert status == 400
    assert body["message"] == (
        'ConfigMap in version "v1" cannot be handled as a ConfigMap: json: cannot unmarshal '
        "number into Go struct field ConfigMap.data of type string"
    )


async def test_create_gzip_body_is_not_decompressed(
    session: aiohttp.ClientSession, auth: dict[str, str]
) -> None:
    raw = gzip.compress(json.dumps(configmap("gz")).encode())
    async with session.post(
        CM_PATH, data=raw,
        headers={**auth, "Content-Type": "application/json", "Content-Encoding": "gzip"},
    ) as response:
        assert response.status == 400
        assert "invalid character '\\x1f'" in (await response.json())["message"]


async def test_create_over_three_mebibytes_is_413(
    session: aiohttp.ClientSession, auth: dict[str, str]
) -> None:
    raw = json.dumps(configmap("huge", data={"blob": "x" * (3 * 1024 * 1024)})).encode()
    status, body, _ = await _post(session, auth, raw, "application/json")
    assert (status, body["reason"]) == (413, "RequestEntityTooLarge")


async def test_create_with_resource_version_is_500_without_reason(
    session: aiohttp.ClientSession, auth: dict[str, str]
) -> None:
    raw = json.dumps({**configmap("rv"), "metadata": {"name": "rv", "resourceVersion": "7"}})
    status, body, _ = await _post(session, auth, raw.encode(), "application/json")
    assert status == 500
    assert "reason" not in body
    assert body["message"] == "resourceVersion should not be set on objects to be created"


async def test_create_invalid_name_is_422_with_a_cause(
    session: aiohttp.ClientSession, auth: dict[str, str]
) -> None:
    status, body, _ = await _post(
        session, auth, json.dumps(configmap("Bad_Name")).encode(), "application/json"
    )
    assert (status, body["reason"]) == (422, "Invalid")
    assert body["details"]["causes"][0]["field"] == "metadata.name"


async def _apply(
    session: aiohttp.ClientSession, auth: dict[str, str], manager: str, value: str,
    *, force: bool = False,
) -> tuple[int, Any]:
    document = yaml.safe_dump(configmap("applied", data={"k": value}))
    query = f"?fieldManager={manager}" + ("&force=true" if force else "")
    async with session.patch(
        f"{CM_PATH}/applied{query}", data=document, headers={**auth, "Content-Type": APPLY}
    ) as response:
        return response.status, await response.json()


async def test_server_side_apply_conflicts_with_another_manager_unless_forced(
    session: aiohttp.ClientSession, auth: dict[str, str]
) -> None:
    assert (await _apply(session, auth, "first", "mine"))[0] == 201
    assert (await _apply(session, auth, "first", "mine"))[0] == 200
    status, body = await _apply(session, auth, "second", "theirs")
    assert status == 409
    assert body["message"] == 'Apply failed with 1 conflict: conflict with "first": .data.k'
    status, body = await _apply(session, auth, "second", "theirs", force=True)
    assert (status, body["data"]) == (200, {"k": "theirs"})
    managers = {e["manager"]: e["fieldsV1"] for e in body["metadata"]["managedFields"]}
    assert managers == {"second": {"f:data": {"f:k": {}}}}


async def test_apply_without_field_manager_is_422_patch_options(
    session: aiohttp.ClientSession, auth: dict[str, str]
) -> None:
    async with session.patch(
        f"{CM_PATH}/applied", data="apiVersion: v1\nkind: ConfigMap\n",
        headers={**auth, "Content-Type": APPLY},
    ) as response:
        assert response.status == 422
        assert (await response.json())["details"]["kind"] == "PatchOptions"


async def test_patch_with_application_json_is_415(
    session: aiohttp.ClientSession, auth: dict[str, str]
) -> None:
    await _post(session, auth, json.dumps(configmap("p")).encode(), "application/json")
    async with session.patch(
        f"{CM_PATH}/p", data=b"{}", headers={**auth, "Content-Type": "application/json"}
    ) as response:
        assert response.status == 415
        assert (await response.json())["message"] == "415: Unsupported Media Type"


async def test_delete_precondition_uid_mismatch_is_409_and_malformed_body_500(
    session: aiohttp.ClientSession, auth: dict[str, str]
) -> None:
    await _post(session, auth, json.dumps(configmap("d")).encode(), "application/json")
    json_headers = {**auth, "Content-Type": "application/json"}
    body = json.dumps({"kind": "DeleteOptions", "apiVersion": "v1",
                       "preconditions": {"uid": "00000000-0000-0000-0000-000000000000"}})
    async with session.delete(f"{CM_PATH}/d", data=body, headers=json_headers) as response:
        assert response.status == 409
        assert "the UID in the precondition" in (await response.json())["message"]
    async with session.delete(f"{CM_PATH}/d", data=b"{", headers=json_headers) as response:
        assert response.status == 500
    async with session.get(f"{CM_PATH}/d", headers=auth) as response:
        assert response.status == 200


async def test_list_exact_resource_version_shows_the_list_as_it_was(
    api: FakeAPIServer, session: aiohttp.ClientSession, auth: dict[str, str]
) -> None:
    api.store.create("configmaps", configmap("before"), namespace="default")
    then = api.store.resource_version
    api.store.create("configmaps", configmap("after"), namespace="default")
    api.store.delete("configmaps", "before", namespace="default")
    query = f"?resourceVersionMatch=Exact&resourceVersion={then}"
    async with session.get(CM_PATH + query, headers=auth) as response:
        names = [item["metadata"]["name"] for item in (await response.json())["items"]]
    assert names == ["before"]


async def test_list_resource_version_zero_ignores_limit(
    api: FakeAPIServer, session: aiohttp.ClientSession, auth: dict[str, str]
) -> None:
    for name in ("a", "b", "c"):
        api.store.create("configmaps", configmap(name), namespace="default")
    async with session.get(CM_PATH + "?limit=2", headers=auth) as response:
        paged = await response.json()
    async with session.get(CM_PATH + "?limit=2&resourceVersion=0", headers=auth) as response:
        cached = await response.json()
    assert (len(paged["items"]), bool(paged["metadata"].get("continue"))) == (2, True)
    assert (len(cached["items"]), cached["metadata"].get("continue")) == (3, None)


@pytest.mark.parametrize(
    ("accept", "status", "content_type"),
    [
        ("application/*", 406, "application/json"),
        ("application/yaml", 200, "application/yaml"),
        ("application/vnd.kubernetes.protobuf, application/json", 200,
         "application/vnd.kubernetes.protobuf"),
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", 200,
         "application/json"),
    ],
    ids=["wildcard subtype refused", "yaml", "protobuf first", "browser"],
)
async def test_list_accept_negotiation(
    session: aiohttp.ClientSession, auth: dict[str, str],
    accept: str, status: int, content_type: str,
) -> None:
    async with session.get(CM_PATH, headers={**auth, "Accept": accept}) as response:
        assert response.status == status
        assert response.headers["Content-Type"] == content_type


async def test_list_is_indented_for_curl_unless_pretty_false(
    session: aiohttp.ClientSession, auth: dict[str, str]
) -> None:
    curl = {**auth, "User-Agent": "curl/8.5.0"}
    async with session.get(CM_PATH, headers=curl) as response:
        assert (await response.read()).startswith(b"{\n  ")
    async with session.get(CM_PATH + "?pretty=false", headers=curl) as response:
        assert (await response.read()).startswith(b'{"kind"')
