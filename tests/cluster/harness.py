"""What the cluster suite drives: a cluster reached with an admin kubeconfig, and proxies run as
a user runs them (`python -m proxy`), each with a credential-free kubeconfig for its clients.

Nothing here knows whether the cluster is the fake API server or a real one.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

KUBECTL = "/usr/bin/kubectl"
BANNER = re.compile(r"^Starting to serve on (\S+)", re.MULTILINE)
START_TIMEOUT = 30.0


@dataclass(frozen=True)
class Cluster:
    """A cluster and the environment admin commands and proxies run with: its `KUBECONFIG`
    names the admin kubeconfig (a `:`-separated list is merged, as kubectl merges it)."""

    environment: Mapping[str, str]

    def kubectl(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        """kubectl as the admin, straight to the API server (never through a proxy)."""
        return subprocess.run(
            [KUBECTL, "--request-timeout=30s", *args], input=stdin, capture_output=True,
            text=True, timeout=90, env=dict(self.environment), check=False,
        )

    def current_context(self) -> str:
        """`NAME (SERVER)`: the context the admin commands and the proxies use."""
        done = self.kubectl("config", "view", "--minify", "-o",
                            "jsonpath={.current-context} ({.clusters[0].cluster.server})")
        assert done.returncode == 0, f"KUBECONFIG={self.environment['KUBECONFIG']}: {done.stderr}"
        return done.stdout

    def apply(self, *objects: Mapping[str, Any]) -> None:
        done = self.kubectl("apply", "-f", "-", stdin=yaml.safe_dump_all(objects))
        assert done.returncode == 0, done.stderr

    def serves(self, group_version: str, resource: str) -> bool:
        """Whether discovery lists `resource` (a plural, or `plural/subresource`)."""
        path = "/api/v1" if group_version == "v1" else f"/apis/{group_version}"
        done = self.kubectl("get", "--raw", path)
        if done.returncode != 0:
            assert "NotFound" in done.stderr, done.stderr
            return False
        return resource in {entry["name"] for entry in json.loads(done.stdout)["resources"]}


def wait_for_output(
    process: subprocess.Popen[bytes], output: Path, pattern: re.Pattern[str], *, log: Path
) -> re.Match[str]:
    """Wait, bounded, for a line a child process prints to the file `output`."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        match = pattern.search(output.read_text(errors="replace"))
        if match is not None:
            return match
        if process.poll() is not None:
            break
        time.sleep(0.02)
    stop_process(process)
    raise AssertionError(f"{process.args!r} did not start: {log.read_text(errors='replace')}")


def stop_process(process: subprocess.Popen[bytes]) -> int:
    """SIGTERM, as the kubelet or systemd would; SIGKILL if it is still there after 15 s."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            return process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
    return process.wait()


def spawn(argv: list[str], *, environment: Mapping[str, str], workdir: Path,
          cwd: Path | None = None) -> subprocess.Popen[bytes]:
    """Run `argv` with its output in `workdir`/stdout and `workdir`/stderr (a pipe nobody
    reads would block it once full)."""
    workdir.mkdir(parents=True, exist_ok=True)
    with (workdir / "stdout").open("wb") as out, (workdir / "stderr").open("wb") as err:
        return subprocess.Popen(argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL, cwd=cwd,
                                env={**environment, "PYTHONUNBUFFERED": "1"})


@dataclass(frozen=True)
class ProxyProcess:
    """`python -m proxy ARGS` on a loopback port, and a kubeconfig naming only its URL."""

    process: subprocess.Popen[bytes]
    address: str
    kubeconfig: Path
    log: Path

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    def stop(self) -> int:
        return stop_process(self.process)


def start_proxy(cluster: Cluster, *args: str, workdir: Path) -> ProxyProcess:
    """Start the proxy with the cluster's admin kubeconfig (from `KUBECONFIG`) and `args`."""
    process = spawn([sys.executable, "-m", "proxy", "--port", "0", *args],
                    environment=cluster.environment, workdir=workdir)
    log = workdir / "stderr"
    address = wait_for_output(process, workdir / "stdout", BANNER, log=log).group(1)
    kubeconfig = write_client_kubeconfig(workdir / "kubeconfig", server=f"http://{address}")
    return ProxyProcess(process, address, kubeconfig, log)


def write_client_kubeconfig(path: Path, *, server: str) -> Path:
    """A kubeconfig for kubectl and the Python client: the proxy's URL and no credential."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "kube-auth-proxy", "cluster": {"server": server}}],
        "users": [{"name": "nobody", "user": {}}],
        "contexts": [{"name": "kube-auth-proxy",
                      "context": {"cluster": "kube-auth-proxy", "user": "nobody"}}],
        "current-context": "kube-auth-proxy",
    }
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def kubectl_argv(proxy: ProxyProcess, *args: str) -> list[str]:
    """kubectl pointed at the proxy with its credential-free kubeconfig."""
    return [KUBECTL, "--kubeconfig", str(proxy.kubeconfig), "--request-timeout=20s", *args]


def call(proxy: ProxyProcess, method: str, path: str, body: Any = None, *,
         content_type: str = "application/json") -> tuple[int, Any]:
    """One request through the proxy: the status and the JSON answer (errors included)."""
    data = None if body is None else json.dumps(body).encode()
    headers = {} if body is None else {"Content-Type": content_type}
    request = urllib.request.Request(proxy.url + path, data=data, method=method,
                                     headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read())


def who_am_i(proxy: ProxyProcess) -> dict[str, Any] | None:
    """The user the API server sees through this proxy (SelfSubjectReview, Kubernetes 1.28+);
    None if the cluster does not serve it."""
    code, answer = call(proxy, "POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews",
                        {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"})
    if code == 404:
        return None
    assert code == 201, answer
    user: dict[str, Any] = answer["status"]["userInfo"]
    return user
