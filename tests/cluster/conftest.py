"""The cluster the scenarios run against, a temporary namespace in it, and the proxies in front.

`make test` runs them against the fake API server (a subprocess, seen only through the
kubeconfig it writes); `make test-cluster` against the cluster in `$KUBECONFIG`, by setting
KUBE_AUTH_PROXY_CLUSTER_KUBECONFIG and running `pytest tests/cluster`. The variable is
honoured only when tests/cluster is all that runs, so a plain `pytest` never touches a real
cluster, whatever the shell exports.
"""

from __future__ import annotations

import os
import re
import secrets
import sys
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.cluster.fake_cluster import READY
from tests.cluster.harness import (
    Cluster,
    ProxyProcess,
    spawn,
    start_proxy,
    stop_process,
    wait_for_output,
)
from tests.conftest import _HERMETIC_VARIABLES

CLUSTER_KUBECONFIG = "KUBE_AUTH_PROXY_CLUSTER_KUBECONFIG"
HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]

# Who the proxy impersonates in the impersonation and 403 scenarios: no cluster grants it
# anything. The group shows that --as-group rides along.
NOBODY = "kube-auth-proxy-e2e-nobody"
NOBODY_GROUP = "kube-auth-proxy-e2e-testers"
PING_INTERVAL = 2.0


def only_this_suite(config: pytest.Config) -> bool:
    """True when every path pytest was given lies in tests/cluster."""
    paths = [Path(arg.split("::")[0]).resolve() for arg in config.args]
    return bool(paths) and all(path.is_relative_to(HERE) for path in paths)


def requested_kubeconfig(config: pytest.Config) -> str | None:
    value = os.environ.get(CLUSTER_KUBECONFIG, "")
    return value if value and only_this_suite(config) else None


def real_cluster(kubeconfig: str) -> Cluster:
    # The caller's own environment: exec plugins need their HOME, PATH and proxies.
    return Cluster({**os.environ, "KUBECONFIG": kubeconfig})


def pytest_report_header(config: pytest.Config) -> str:
    kubeconfig = requested_kubeconfig(config)
    if kubeconfig is None:
        return "cluster suite: against the fake API server"
    try:
        context = real_cluster(kubeconfig).current_context()
    except AssertionError as error:
        context = str(error)
    return f"cluster suite: against context {context} of KUBECONFIG={kubeconfig}"


@pytest.fixture(scope="session")
def cluster(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[Cluster]:
    kubeconfig = requested_kubeconfig(request.config)
    if kubeconfig is not None:
        real = real_cluster(kubeconfig)
        real.current_context()  # a kubeconfig kubectl cannot read fails here, once
        yield real
        return
    if os.environ.get(CLUSTER_KUBECONFIG):
        warnings.warn(f"{CLUSTER_KUBECONFIG} is ignored unless only tests/cluster runs "
                      "(make test-cluster); using the fake API server", stacklevel=1)
    yield from fake_cluster(tmp_path_factory.mktemp("fake-cluster"))


def fake_cluster(workdir: Path) -> Iterator[Cluster]:
    home = workdir / "home"
    home.mkdir()
    kubeconfig = workdir / "admin.kubeconfig"
    environment = {name: value for name, value in os.environ.items()
                   if name not in _HERMETIC_VARIABLES}
    environment |= {"HOME": str(home), "KUBECONFIG": str(kubeconfig)}
    process = spawn([sys.executable, "-m", "tests.cluster.fake_cluster",
                     "--kubeconfig", str(kubeconfig)],
                    environment=environment, workdir=workdir, cwd=ROOT)
    try:
        wait_for_output(process, workdir / "stdout", re.compile(READY), log=workdir / "stderr")
        yield Cluster(environment)
    finally:
        stop_process(process)


@pytest.fixture(scope="session")
def namespace(cluster: Cluster) -> Iterator[str]:
    """A namespace for this run, created and deleted with the admin kubeconfig directly."""
    name = f"kap-e2e-{secrets.token_hex(4)}"
    cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {
        "name": name, "labels": {"app.kubernetes.io/created-by": "kube-auth-proxy-tests"}}})
    yield name
    done = cluster.kubectl("delete", "namespace", name, "--wait=false")
    assert done.returncode == 0, done.stderr


def proxy_fixture(cluster: Cluster, workdir: Path, *args: str) -> Iterator[ProxyProcess]:
    proxy = start_proxy(cluster, *args, workdir=workdir)
    yield proxy
    code = proxy.stop()
    assert code == 0, proxy.log.read_text(errors="replace")


@pytest.fixture(scope="session")
def proxy(cluster: Cluster, namespace: str, tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[ProxyProcess]:
    """The proxy with the admin's credential. Pings every 2 s; a request head must arrive
    within 3 s (down from 10 s), so a watch the head deadline would cut shows within the
    WebSocket scenario's three ping intervals."""
    yield from proxy_fixture(cluster, tmp_path_factory.mktemp("proxy"),
                             "--ws-ping-interval", f"{PING_INTERVAL:g}s", "--header-timeout", "3s")


@pytest.fixture(scope="session")
def impersonating_proxy(cluster: Cluster, namespace: str,
                        tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxyProcess]:
    yield from proxy_fixture(cluster, tmp_path_factory.mktemp("impersonating-proxy"),
                             "--as", NOBODY, "--as-group", NOBODY_GROUP)


@dataclass(frozen=True)
class ServiceAccount:
    namespace: str
    name: str
    # Why no Role could be granted to it (the cluster has no RBAC API); None when granted.
    no_role: str | None

    @property
    def user(self) -> str:
        return f"system:serviceaccount:{self.namespace}:{self.name}"


@pytest.fixture(scope="session")
def service_account(cluster: Cluster, namespace: str) -> ServiceAccount:
    """`default` in the namespace (created when no controller-manager does it), with a Role
    to read ConfigMaps there."""
    if cluster.serves("v1", "serviceaccounts"):
        cluster.apply({"apiVersion": "v1", "kind": "ServiceAccount",
                       "metadata": {"name": "default", "namespace": namespace}})
    if not cluster.serves("rbac.authorization.k8s.io/v1", "roles"):
        return ServiceAccount(namespace, "default",
                              no_role="the cluster serves no rbac.authorization.k8s.io/v1 Roles")
    meta = {"name": "configmap-reader", "namespace": namespace}
    cluster.apply(
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": meta,
         "rules": [{"apiGroups": [""], "resources": ["configmaps"],
                    "verbs": ["get", "list", "watch"]}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": meta,
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                     "name": "configmap-reader"},
         "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": namespace}]},
    )
    return ServiceAccount(namespace, "default", no_role=None)


@pytest.fixture(scope="session")
def token_request_proxy(cluster: Cluster, service_account: ServiceAccount,
                        tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxyProcess]:
    yield from proxy_fixture(cluster, tmp_path_factory.mktemp("token-request-proxy"),
                             "--token-request",
                             f"{service_account.namespace}/{service_account.name}")
