"""A real browser: a page on another origin lists, creates, merge-patches, deletes and watches
through the proxy when `--cors-allowed-origins` lists it, and learns nothing when it does not."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from proxy.config import CorsConfig, SecurityConfig
from proxy.testing import FakeAPIServer
from tests.browser.conftest import serving
from tests.browser.devtools import DevTools, open_page
from tests.integration.conftest import StartProxy

CONFIGMAPS = "/api/v1/namespaces/default/configmaps"
PAGE_TOKEN = "page-token"
MUTATING = {"POST", "PUT", "PATCH", "DELETE"}


def listing(origin: str) -> CorsConfig:
    return CorsConfig(allowed_origins=(re.escape(origin),))


def scenario(body: str, **values: Any) -> str:
    """An async JavaScript block run in the page, with `values` bound as constants."""
    bindings = "".join(f"const {name} = {json.dumps(value)};\n" for name, value in values.items())
    return f"(async () => {{\n{bindings}{body}\n}})()"


# List, then watch from the list's resourceVersion; create, merge-patch and delete one
# ConfigMap; wait for the watch to see it go.
LIST_CHANGE_WATCH = """
const list = await kubeFetch(proxy, path, { token });
const events = [];
const ws = await kubeWatch(proxy, path, {
  token, resourceVersion: list.body.metadata.resourceVersion,
  onEvent: (event) => events.push([event.type, event.object.metadata.name]),
});
const configMap = { apiVersion: "v1", kind: "ConfigMap", metadata: { name }, data: { a: "1" } };
const created = await kubeFetch(proxy, path, { method: "POST", body: configMap, token });
const patched = await kubeFetch(proxy, `${path}/${name}`, {
  method: "PATCH", body: { data: { a: "2" } }, contentType: "application/merge-patch+json", token,
});
const deleted = await kubeFetch(proxy, `${path}/${name}`, { method: "DELETE", token });
await until(() => events.some(([type]) => type === "DELETED"));
ws.close();
return {
  list: list.status, listKind: list.body.kind, dateExposed: list.date !== null,
  created: created.status, patched: patched.status, patchedValue: patched.body.data.a,
  deleted: deleted.status, events,
};
"""


async def test_listed_page_lists_changes_and_watches(
    apiserver: FakeAPIServer, start_proxy: StartProxy, admin_kubeconfig: Path,
    devtools: DevTools, page_origin: str,
) -> None:
    proxy = await start_proxy(admin_kubeconfig, cors=listing(page_origin))
    async with open_page(devtools, f"{page_origin}/index.html") as page:
        result = await page.evaluate(scenario(
            LIST_CHANGE_WATCH, proxy=proxy.url, path=CONFIGMAPS, name="from-page", token=None))
    assert result == {
        "list": 200, "listKind": "ConfigMapList", "dateExposed": True,
        "created": 201, "patched": 200, "patchedValue": "2", "deleted": 200,
        "events": [["ADDED", "from-page"], ["MODIFIED", "from-page"], ["DELETED", "from-page"]],
    }
    # The browser's preflights were the proxy's to answer.
    assert not [r for r in apiserver.requests if r.method == "OPTIONS"]


async def test_unlisted_page_fetch_fails_and_websocket_refused(
    apiserver: FakeAPIServer, start_proxy: StartProxy, admin_kubeconfig: Path,
    devtools: DevTools, page_origin: str,
) -> None:
    proxy = await start_proxy(admin_kubeconfig, cors=listing("http://127.0.0.1:1"))
    async with open_page(devtools, f"{page_origin}/index.html") as page:
        result = await page.evaluate(scenario("""
const configMap = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "sneaky" } };
return {
  list: await outcome(kubeFetch(proxy, path)),
  create: await outcome(kubeFetch(proxy, path, { method: "POST", body: configMap })),
  patch: await outcome(kubeFetch(proxy, `${path}/sneaky`, {
    method: "PATCH", body: { data: {} }, contentType: "application/merge-patch+json" })),
  delete: await outcome(kubeFetch(proxy, `${path}/sneaky`, { method: "DELETE" })),
  watch: await outcome(kubeWatch(proxy, path)),
};
""", proxy=proxy.url, path=CONFIGMAPS))
    assert result == {
        "list": "TypeError", "create": "TypeError", "patch": "TypeError",
        "delete": "TypeError", "watch": "WatchRefused",
    }
    seen = apiserver.requests
    assert not [r for r in seen if r.method in MUTATING or r.method == "OPTIONS"]
    assert not [r for r in seen if "watch=" in r.raw_path]


async def test_listed_page_authenticates_with_its_token_in_shared_mode(
    apiserver: FakeAPIServer, start_proxy: StartProxy, admin_kubeconfig: Path,
    devtools: DevTools, page_origin: str,
) -> None:
    apiserver.add_token(PAGE_TOKEN, "page-user")
    proxy = await start_proxy(admin_kubeconfig, cors=listing(page_origin),
                              security=SecurityConfig(authn="tokenreview"))
    async with open_page(devtools, f"{page_origin}/index.html") as page:
        without_token = await page.evaluate(scenario("""
return {
  list: await outcome(kubeFetch(proxy, path)),
  wrongToken: await outcome(kubeFetch(proxy, path, { token: "not-a-token" })),
  watch: await outcome(kubeWatch(proxy, path)),
};
""", proxy=proxy.url, path=CONFIGMAPS))
        with_token = await page.evaluate(scenario(
            LIST_CHANGE_WATCH, proxy=proxy.url, path=CONFIGMAPS, name="shared", token=PAGE_TOKEN))
    # The 401 carries the CORS headers: the page reads it, rather than a bare TypeError.
    assert without_token == {
        "list": "status 401", "wrongToken": "status 401", "watch": "WatchRefused"}
    assert with_token["list"] == 200 and with_token["deleted"] == 200
    assert with_token["events"] == [["ADDED", "shared"], ["MODIFIED", "shared"],
                                    ["DELETED", "shared"]]
    # The page's token was reviewed; the preflights never were (browsers send no token).
    assert any(r.raw_path.endswith("/tokenreviews") for r in apiserver.requests)
    assert not [r for r in apiserver.requests if r.method == "OPTIONS"]


def readme_page(proxy_url: str) -> str:
    """The README's minimal page ("From a web page"), pointed at the proxy under test."""
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    section = readme.split("### From a web page", 1)[1]
    html = section.split("```html\n", 1)[1].split("```", 1)[0]
    assert 'const proxy = "http://127.0.0.1:8001";' in html
    return html.replace("http://127.0.0.1:8001", proxy_url)


async def test_readme_page_watches_its_own_changes(
    start_proxy: StartProxy, admin_kubeconfig: Path, devtools: DevTools, tmp_path: Path,
) -> None:
    async with serving(tmp_path) as origin:
        proxy = await start_proxy(admin_kubeconfig, cors=listing(origin))
        (tmp_path / "index.html").write_text(readme_page(proxy.url))  # read when requested
        async with open_page(devtools, f"{origin}/index.html") as page:
            log = await page.evaluate("""new Promise((resolve) => {
  const text = () => document.getElementById("log").textContent;
  const started = Date.now();
  const check = () => (text().includes("DELETED") || text().includes("failed")
    || Date.now() - started > 5000) ? resolve(text()) : setTimeout(check, 20);
  check();
})""")
    assert log.splitlines() == ["0 ConfigMaps", "ADDED from-a-page", "DELETED from-a-page"]
