"""The fake API server as the cluster suite sees it: `python -m tests.cluster.fake_cluster
--kubeconfig PATH` writes an admin kubeconfig and serves until SIGTERM.

A separate process, so the suite gets only what it gets from a real cluster: a kubeconfig.
The fake starts as a fresh cluster does: the admin (in system:masters, as kind's and kubeadm's
admin kubeconfigs are) may do anything, everyone else only what the bootstrap RBAC grants
(discovery, version, self reviews), so a user without a grant is refused as a real cluster
refuses them.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import signal
from pathlib import Path

from proxy.testing import FakeAPIServer
from proxy.testing.auth import User
from proxy.testing.rbac import MASTERS, default_policy

ADMIN = User("kubernetes-admin", (MASTERS,))
READY = "fake cluster ready"


async def serve(kubeconfig: Path) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    token = secrets.token_urlsafe(24)
    async with FakeAPIServer(tokens={token: ADMIN}, rbac=default_policy()) as api:
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
