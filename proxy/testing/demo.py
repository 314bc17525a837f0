"""`make demo`: a fake API server with its own CA, and kube-auth-proxy in front of it.

The proxy runs as a user would run it (`python -m proxy --kubeconfig ...`), on
kubectl proxy's port, so the printed curl line works as it stands.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from pathlib import Path

from proxy.testing.server import FakeAPIServer

DEMO_TOKEN = "demo-admin-token"


async def run_demo(*, workdir: Path, proxy_args: list[str]) -> int:
    async with FakeAPIServer(tokens={DEMO_TOKEN: "admin"}) as api:
        ca_file = workdir / "ca.crt"
        ca_file.write_bytes(api.ca_pem)
        kubeconfig = api.kubeconfig(
            workdir / "kubeconfig", ca_file=ca_file.resolve(), token=DEMO_TOKEN
        )
        api.store.create(
            "configmaps",
            {"metadata": {"name": "hello"}, "data": {"greeting": "served through the proxy"}},
            namespace="default",
        )
        print(f"fake API server: {api.url} (its CA: {ca_file}; kubeconfig: {kubeconfig})")
        command = [sys.executable, "-m", "proxy", "--kubeconfig", str(kubeconfig), *proxy_args]
        print("$ kube-auth-proxy --kubeconfig", kubeconfig, *proxy_args, flush=True)
        proxy = await asyncio.create_subprocess_exec(*command, stdout=asyncio.subprocess.PIPE)
        assert proxy.stdout is not None
        banner = (await proxy.stdout.readline()).decode().strip()
        if not banner:
            return await proxy.wait() or 1
        print(banner)
        address = banner.split()[4]
        print(
            "\nTry it:\n"
            f"  curl http://{address}/api/v1/namespaces\n"
            f"  curl http://{address}/api/v1/namespaces/default/configmaps/hello\n"
            f"  curl -N 'http://{address}/api/v1/namespaces/default/configmaps?watch=true'\n"
            f"  kubectl --server http://{address} get configmaps\n"
            "Ctrl-C stops both.",
            flush=True,
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        exited = asyncio.ensure_future(proxy.wait())
        stopped = asyncio.ensure_future(stop.wait())
        await asyncio.wait({exited, stopped}, return_when=asyncio.FIRST_COMPLETED)
        stopped.cancel()
        if proxy.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proxy.send_signal(signal.SIGTERM)
        return await exited


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m proxy.testing.demo", description=__doc__)
    parser.add_argument(
        "--workdir",
        type=Path,
        default=Path(".demo"),
        help="where the CA and kubeconfig are written (default .demo)",
    )
    args, proxy_args = parser.parse_known_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    return asyncio.run(run_demo(workdir=args.workdir, proxy_args=proxy_args))


if __name__ == "__main__":
    raise SystemExit(main())
