"""The fake API server as the cluster suite sees it: `python -m tests.cluster.fake_cluster
--kubeconfig PATH` writes an admin kubeconfig and serves until SIGTERM.

A separate process, so the suite gets only what it gets from a real cluster: a kubeconfig.
The fake starts with the authorization every cluster is bootstrapped with (an admin bound to
cluster-admin; discovery, version and self reviews open to every authenticated user), so a
user without a grant is refused as a real cluster refuses them.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import signal
from pathlib import Path

from proxy.testing import FakeAPIServer
from proxy.testing.rbac import RBAC, Grant

ADMIN = "kube-admin"
READY = "fake cluster ready"

# system:discovery, system:public-info-viewer: the documents every client reads first.
_DISCOVERY_URLS = ("/api", "/api/*", "/apis", "/apis/*", "/openapi/*", "/version",
                   "/healthz", "/livez", "/readyz")


def bootstrap_rbac() -> RBAC:
    """What a fresh cluster's RBAC grants, in the fake's terms."""
    return RBAC(grants=[
        # cluster-admin
        Grant(verbs=("*",), users=(ADMIN,), non_resource_urls=("*",)),
        Grant(verbs=("get",), groups=("system:authenticated",), non_resource_urls=_DISCOVERY_URLS),
        # system:basic-user
        Grant(verbs=("create",), groups=("system:authenticated",),
              api_groups=("authentication.k8s.io", "authorization.k8s.io"),
              resources=("selfsubjectreviews", "selfsubjectaccessreviews",
                         "selfsubjectrulesreviews")),
    ])


async def serve(kubeconfig: Path) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    token = secrets.token_urlsafe(24)
    async with FakeAPIServer(tokens={token: ADMIN}, rbac=bootstrap_rbac()) as api:
        api.kubeconfig(kubeconfig, token=token, context="fake-cluster")
        print(f"{READY}: {api.url}", flush=True)
        await stop.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.cluster.fake_cluster",
                                     description=__doc__)
    parser.add_argument("--kubeconfig", type=Path, required=True, help="kubeconfig to write")
    asyncio.run(serve(parser.parse_args(argv).kubeconfig))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
