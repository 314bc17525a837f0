"""Run a fake API server for the demo: `python -m proxy.testing --kubeconfig PATH`."""

from __future__ import annotations

import argparse
import asyncio
import signal
from pathlib import Path

from proxy.testing.server import FakeAPIServer

DEFAULT_TOKEN = "fake-admin-token"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m proxy.testing", description=__doc__)
    parser.add_argument("--kubeconfig", type=Path, required=True, help="kubeconfig to write")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any)")
    parser.add_argument("--token", default=DEFAULT_TOKEN, help="bearer token for user admin")
    return parser.parse_args(argv)


async def serve(*, kubeconfig: Path, port: int, token: str) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    async with FakeAPIServer(tokens={token: "admin"}, port=port) as api:
        ca_file = kubeconfig.with_name(f"{kubeconfig.stem}-ca.crt")
        ca_file.parent.mkdir(parents=True, exist_ok=True)
        ca_file.write_bytes(api.ca_pem)
        api.kubeconfig(kubeconfig, ca_file=ca_file.resolve(), token=token)
        print(
            f"fake API server serving on {api.url}, kubeconfig written to {kubeconfig}", flush=True
        )
        await stop.wait()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    asyncio.run(serve(kubeconfig=args.kubeconfig, port=args.port, token=args.token))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
