"""`python -m bench.stream_memory`: does the proxy give memory back after many watches end?

Each round opens `--watches` chunked (or WebSocket) watches through the proxy to
the fake API server, holds them until each has had its first event, drops them
all at once (as clients that go away), waits until the fake sees no stream left,
and reads the proxy's resident memory. Rounds after the first should not grow.
Bounded: every wait has a deadline; the proxy is stopped on the way out.

    python -m bench.stream_memory --event-loop uvloop --event-loop asyncio
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

from bench.procfs import rss_bytes
from bench.streams import StreamSet, watch_request
from proxy.testing.server import FakeAPIServer

TOKEN = "bench-admin-token"
WATCH = "/api/v1/namespaces/default/configmaps?watch=true"
MIB = 1024 * 1024
# Longer than the proxy may wait before it trims (proxy.ops.memory's delay and interval).
SETTLE_SECONDS = 6.0
ROUND_BUDGET_SECONDS = 60.0


async def start_proxy(kubeconfig: Path, event_loop: str, env: dict[str, str]
                      ) -> tuple[asyncio.subprocess.Process, int]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "proxy", "--kubeconfig", str(kubeconfig), "--port", "0",
        "--event-loop", event_loop,
        stdout=asyncio.subprocess.PIPE, env={**os.environ, **env},
    )
    assert process.stdout is not None
    banner = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
    address = banner.split()[4]
    return process, int(address.rsplit(":", 1)[1])


async def stop_proxy(process: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), 15)
    except TimeoutError:
        process.kill()
        await process.wait()


async def one_round(api: FakeAPIServer, port: int, *, watches: int, websocket: bool) -> int:
    """Open and hold `watches`, drop them, wait for the upstream side to end; how many held."""
    host = f"127.0.0.1:{port}"
    streams = StreamSet("127.0.0.1", port, watch_request(WATCH, host=host, headers={},
                                                          websocket=websocket), None)
    held = await streams.grow_to(watches, concurrency=200, budget=ROUND_BUDGET_SECONDS)
    streams.close()
    deadline = time.monotonic() + 30
    while api.open_streams and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    await asyncio.sleep(SETTLE_SECONDS)
    return held


async def measure(event_loop: str, *, watches: int, rounds: int, websocket: bool,
                  env: dict[str, str]) -> list[float]:
    """The proxy's RSS in MiB: at start, then after each round."""
    with tempfile.TemporaryDirectory() as workdir:
        async with FakeAPIServer(tokens={TOKEN: "admin"}) as api:
            api.store.create("configmaps", {"metadata": {"name": "one"}}, namespace="default")
            kubeconfig = api.kubeconfig(Path(workdir) / "kubeconfig", token=TOKEN)
            process, port = await start_proxy(kubeconfig, event_loop, env)
            try:
                await asyncio.sleep(SETTLE_SECONDS)
                figures = [rss_bytes([process.pid]) / MIB]
                for number in range(1, rounds + 1):
                    held = await one_round(api, port, watches=watches, websocket=websocket)
                    figures.append(rss_bytes([process.pid]) / MIB)
                    print(f"{event_loop}: round {number}: {held} watches held and dropped; "
                          f"RSS {figures[-1]:.1f} MiB", flush=True)
            finally:
                await stop_proxy(process)
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.stream_memory", description=__doc__)
    parser.add_argument("--event-loop", action="append", choices=("uvloop", "asyncio"))
    parser.add_argument("--watches", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--websocket", action="store_true", help="WebSocket watches instead")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                        help="set in the proxy's environment (MALLOC_ARENA_MAX=2, ...)")
    args = parser.parse_args(argv)
    env = dict(item.split("=", 1) for item in args.env)
    for event_loop in args.event_loop or ["uvloop", "asyncio"]:
        figures = asyncio.run(measure(event_loop, watches=args.watches, rounds=args.rounds,
                                      websocket=args.websocket, env=env))
        steps = " -> ".join(f"{value:.0f}" for value in figures)
        print(f"{event_loop}: RSS MiB at start, then after each round: {steps}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
