"""The command as a user runs it: banner, curl, errors without tracebacks, SIGTERM."""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
from pathlib import Path

import pytest
import yaml

from proxy.testing import FakeAPIServer
from tests.e2e.conftest import SpawnProxy, run


async def test_banner_names_address_context_and_api_server(
    apiserver: FakeAPIServer, admin_kubeconfig: Path, spawn_proxy: SpawnProxy
) -> None:
    proxy = await spawn_proxy("--kubeconfig", str(admin_kubeconfig))
    assert proxy.banner.startswith(f"Starting to serve on 127.0.0.1:{proxy.port} ")
    assert proxy.port != 8001  # --port 0 picked a free one and said which
    assert '"fake"' in proxy.banner and apiserver.url in proxy.banner


async def test_curl_lists_namespaces(admin_kubeconfig: Path, spawn_proxy: SpawnProxy) -> None:
    proxy = await spawn_proxy("--kubeconfig", str(admin_kubeconfig))
    code, out, _ = await run("curl", "-s", f"{proxy.url}/api/v1/namespaces")
    assert code == 0
    body = json.loads(out)
    assert body["kind"] == "NamespaceList"
    assert "default" in [item["metadata"]["name"] for item in body["items"]]


async def test_curl_watch_receives_events_as_they_happen(
    apiserver: FakeAPIServer, admin_kubeconfig: Path, spawn_proxy: SpawnProxy
) -> None:
    proxy = await spawn_proxy("--kubeconfig", str(admin_kubeconfig))
    curl = await asyncio.create_subprocess_exec(
        "curl",
        "-sN",
        "--max-time",
        "20",
        f"{proxy.url}/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=0",
        stdout=asyncio.subprocess.PIPE,
    )
    assert curl.stdout is not None
    try:
        await asyncio.sleep(0.3)  # let the watch open; the event below must come after
        code, _, err = await run(
            "curl",
            "-sf",
            "-X",
            "POST",
            "-H",
            "Content-Type: application/json",
            "--data",
            json.dumps(
                {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "from-curl"}}
            ),
            f"{proxy.url}/api/v1/namespaces/default/configmaps",
        )
        assert code == 0, err
        line = await asyncio.wait_for(curl.stdout.readline(), 10)
        event = json.loads(line)
        assert (event["type"], event["object"]["metadata"]["name"]) == ("ADDED", "from-curl")
        assert curl.returncode is None, "the event arrived while the stream was still open"
    finally:
        curl.kill()
        await curl.wait()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        pytest.param("{not: [yaml", "not valid YAML", id="not yaml"),
        pytest.param("- a\n- b\n", "not a mapping", id="not a mapping"),
        pytest.param("apiVersion: v1\nkind: Config\n", "current-context", id="no current context"),
    ],
)
async def test_malformed_kubeconfig_exits_1_with_a_message_not_a_traceback(
    tmp_path: Path, content: str, expected: str
) -> None:
    path = tmp_path / "broken.kubeconfig"
    path.write_text(content)
    code, _, err = await run(
        sys.executable, "-m", "proxy", "--kubeconfig", str(path), "--port", "0"
    )
    assert code == 1
    assert "Traceback" not in err
    assert err.startswith(f"error: {path}")
    assert expected in err


async def test_missing_certificate_file_names_field(
    apiserver: FakeAPIServer, tmp_path: Path
) -> None:
    path = apiserver.kubeconfig(tmp_path / "k", token="x")
    document = yaml.safe_load(path.read_text())
    cluster = document["clusters"][0]["cluster"]
    cluster.pop("certificate-authority-data", None)
    cluster["certificate-authority"] = "gone.crt"
    path.write_text(yaml.safe_dump(document))
    code, _, err = await run(sys.executable, "-m", "proxy", "--kubeconfig", str(path))
    assert code == 1
    assert "certificate-authority" in err and "gone.crt" in err and "Traceback" not in err


async def test_sigterm_exits_zero(admin_kubeconfig: Path, spawn_proxy: SpawnProxy) -> None:
    proxy = await spawn_proxy("--kubeconfig", str(admin_kubeconfig))
    code, logged = await proxy.stop()
    assert code == 0
    assert "Traceback" not in logged


async def test_large_response_streams_with_flat_memory(
    apiserver: FakeAPIServer, admin_kubeconfig: Path, spawn_proxy: SpawnProxy
) -> None:
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    apiserver.run_pod("big")  # a pod that runs: an unscheduled one has no log (204)
    proxy = await spawn_proxy("--kubeconfig", str(admin_kubeconfig))
    code, _, _ = await run("curl", "-s", "-o", "/dev/null", f"{proxy.url}/version")
    assert code == 0
    before = proxy.peak_rss_kib()
    size = 1024 * 1024 * 1024
    code, out, err = await run(
        "curl",
        "-s",
        "-o",
        "/dev/null",
        "-w",
        "%{size_download}",
        f"{proxy.url}/api/v1/namespaces/default/pods/big/log?limitBytes={size}",
        timeout=120,
    )
    assert code == 0, err
    assert int(out) == size
    growth_mib = (proxy.peak_rss_kib() - before) / 1024
    assert growth_mib < 32, f"peak RSS grew by {growth_mib:.1f} MiB for a {size >> 20} MiB body"
