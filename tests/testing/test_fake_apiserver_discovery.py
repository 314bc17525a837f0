"""Discovery, OpenAPI and health as kube-apiserver 1.32 serves them: aggregated discovery with
ETags, the two kinds of 404, and the health checks."""

from __future__ import annotations

import aiohttp
import pytest

from tests.testing.conftest import ADMIN

AGGREGATED = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"


async def test_aggregated_discovery_echoes_the_type_and_honours_if_none_match(
    strict_session: aiohttp.ClientSession,
) -> None:
    headers = {**ADMIN, "Accept": AGGREGATED}
    async with strict_session.get("/apis", headers=headers) as response:
        assert response.headers["Content-Type"] == AGGREGATED
        assert response.headers["Cache-Control"] == "public"
        body = await response.json()
        etag = response.headers["ETag"]
    assert body["kind"] == "APIGroupDiscoveryList"
    assert "apps" in {item["metadata"]["name"] for item in body["items"]}
    async with strict_session.get("/apis", headers={**headers, "If-None-Match": etag}) as again:
        assert again.status == 304


async def test_aggregated_discovery_of_an_unknown_version_is_406(
    strict_session: aiohttp.ClientSession,
) -> None:
    accept = AGGREGATED.replace("v=v2", "v=v3")
    async with strict_session.get("/apis", headers={**ADMIN, "Accept": accept}) as response:
        assert response.status == 406
    fallback = f"{accept}, application/json"
    async with strict_session.get("/apis", headers={**ADMIN, "Accept": fallback}) as response:
        assert (await response.json())["kind"] == "APIGroupList"


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/apis/nope.example.com", "text/plain; charset=utf-8"),
        ("/apis/nope.example.com/v1/things", "text/plain; charset=utf-8"),
        ("/apis/apps/v9", "application/json"),
        ("/api/v2/namespaces/default/configmaps", "application/json"),
        ("/apis/authentication.k8s.io/v1beta1/tokenreviews", "application/json"),
        ("/healthz/nope", "text/plain; charset=utf-8"),
        ("/readyz/etcd", "text/plain; charset=utf-8"),
    ],
)
async def test_unknown_groups_are_go_404s_unknown_versions_status_404s(
    strict_session: aiohttp.ClientSession, path: str, content_type: str
) -> None:
    async with strict_session.get(path, headers=ADMIN) as response:
        assert (response.status, response.headers["Content-Type"]) == (404, content_type)


async def test_discovery_is_refused_to_anonymous_but_health_is_not(
    strict_session: aiohttp.ClientSession,
) -> None:
    async with strict_session.get("/api") as response:
        assert (await response.json())["message"] == (
            'forbidden: User "system:anonymous" cannot get path "/api"'
        )
    for path in ("/healthz", "/livez", "/readyz", "/version"):
        async with strict_session.get(path) as response:
            assert response.status == 200, path


async def test_verbose_health_lists_checks_and_exclusions(
    strict_session: aiohttp.ClientSession,
) -> None:
    async with strict_session.get("/livez?verbose&exclude=etcd", headers=ADMIN) as response:
        lines = (await response.text()).splitlines()
    assert lines[:3] == ["[+]ping ok", "[+]log ok", "[+]etcd excluded: ok"]
    assert lines[-1] == "livez check passed"
    async with strict_session.post("/readyz", headers=ADMIN) as response:
        assert await response.text() == "ok"


async def test_openapi_v3_index_is_json_sent_as_text_with_hashed_urls(
    strict_session: aiohttp.ClientSession,
) -> None:
    async with strict_session.get("/openapi/v3", headers=ADMIN) as response:
        assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
        paths = (await response.json(content_type=None))["paths"]
    url = paths["apis/apps/v1"]["serverRelativeURL"]
    async with strict_session.get(url, headers=ADMIN) as response:
        assert response.headers["Cache-Control"] == "public, immutable"
        assert "Expires" in response.headers
    async with strict_session.get("/openapi/v3/apis/nope/v1", headers=ADMIN) as response:
        assert response.status == 404 and "Content-Type" not in response.headers


@pytest.mark.parametrize(
    ("path", "kind"),
    [("/api", b"APIVersions"), ("/api/v1", b"APIResourceList"), ("/apis", b"APIGroupList"),
     ("/apis/apps", b"APIGroup"), ("/apis/apps/v1", b"APIResourceList")],
)
async def test_discovery_documents_come_as_protobuf_when_asked(
    strict_session: aiohttp.ClientSession, path: str, kind: bytes
) -> None:
    headers = {**ADMIN, "Accept": "application/vnd.kubernetes.protobuf, application/json"}
    async with strict_session.get(path, headers=headers) as response:
        assert response.headers["Content-Type"] == "application/vnd.kubernetes.protobuf"
        body = await response.read()
    assert body.startswith(b"k8s\x00") and kind in body[:40]
