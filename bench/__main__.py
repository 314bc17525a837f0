"""`python -m bench [--quick]`: start the upstreams, measure every endpoint, print the table.

Rounds alternate the order of the endpoints; the table holds the medians of the
rounds. Everything started here is stopped on the way out, Ctrl-C included.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import importlib.util
import os
import re
import resource
import signal
import ssl
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp

from bench import peers, procfs, report
from bench.children import ChildError, spawn, stop, wait_for_line
from bench.events import PUSH_PATH, WATCH_PATH
from bench.scenarios import Settings, measure_requests, measure_streams, warn
from bench.upstream import SMALL_PATH, Credentials, Nginx, start_nginx, start_watch_nginx
from proxy.testing.kubeconfig import write_kubeconfig

RESULTS = Path(__file__).parent / "results"
QUICK = Settings(
    rounds=1,
    warmup_seconds=1.0,
    wrk_seconds=2.0,
    large_downloads=2,
    stream_levels=(1_000, 2_000),
    open_budget_seconds=20.0,
    pushes=3,
    per_push=50,
)
KAP = "kube-auth-proxy"
UNCAPPED = "--max-requests-per-client=0"
WATCH_QUERY = WATCH_PATH + "?watch=true"


def raise_fd_limit() -> int:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def subjects(workers: int) -> list[peers.PeerSpec]:
    """kube-auth-proxy as shipped, and with --workers when the CLI has it."""
    help_text = subprocess.run(
        [sys.executable, "-m", "proxy", "--help"], capture_output=True, text=True, timeout=30
    ).stdout
    # Every bench client is 127.0.0.1: lift the per-client cap, as kubectl proxy has none.
    common = [UNCAPPED] if UNCAPPED.split("=")[0] in help_text else []
    specs = [peers.kube_auth_proxy(KAP, common)]
    if workers > 1:
        if "--workers" in help_text:
            extra = [*common, "--workers", str(workers)]
            specs.append(peers.kube_auth_proxy(f"{KAP} -w{workers}", extra))
        else:
            warn("kube-auth-proxy has no --workers flag: measured with one process only")
    return specs


def websocket_watch_exists() -> bool:
    return importlib.util.find_spec("proxy.streams.websocket_watch") is not None


class Upstreams:
    """nginx for REST; for watches, nginx (TLS, h2) before the event server; kubeconfigs."""

    def __init__(self, folder: Path, *, http2: bool) -> None:
        self.folder = folder
        self.http2 = http2
        self.credentials = Credentials.create(folder)
        self.client_ssl = ssl.create_default_context()
        self.credentials.ca.configure_trust(self.client_ssl)
        self.rest_kubeconfig = folder / "rest.kubeconfig"
        self.watch_kubeconfig = folder / "watch.kubeconfig"
        self.events_socket = folder / "events.sock"
        self.nginx_url = ""
        self.events_url = ""
        self._watch_nginx: Nginx | None = None

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[Upstreams]:
        async with contextlib.AsyncExitStack() as stack:
            nginx = await start_nginx(self.folder, self.credentials, http2=self.http2)
            stack.push_async_callback(stop, nginx.child)
            events = await spawn(
                "events",
                [
                    sys.executable,
                    "-m",
                    "bench.events",
                    "--unix",
                    str(self.events_socket),
                    "--token",
                    self.credentials.token,
                ],
                log_dir=self.folder,
            )
            stack.push_async_callback(stop, events)
            await wait_for_line(events, re.compile(rb"serving on unix:"), timeout=20)
            watch_nginx = await start_watch_nginx(
                self.folder,
                self.credentials,
                events_socket=self.events_socket,
                http2=self.http2,
            )
            stack.push_async_callback(stop, watch_nginx.child)
            self._watch_nginx = watch_nginx
            self.nginx_url = nginx.url
            self.events_url = watch_nginx.url
            ca = self.credentials.ca.cert_pem.bytes()
            token = self.credentials.token
            write_kubeconfig(self.rest_kubeconfig, server=nginx.url, ca_pem=ca, token=token)
            write_kubeconfig(self.watch_kubeconfig, server=self.events_url, ca_pem=ca, token=token)
            connector = aiohttp.UnixConnector(path=str(self.events_socket))
            async with aiohttp.ClientSession(connector=connector) as self.session:
                yield self

    def direct(self, base_url: str) -> peers.Endpoint:
        return peers.direct(
            base_url, authorization=self.credentials.authorization, ssl_context=self.client_ssl
        )

    def watch_connections(self) -> int:
        """Established connections on the watch upstream's TLS port, counted by nginx's side."""
        assert self._watch_nginx is not None
        pids = procfs.tree_pids(self._watch_nginx.child.pid)
        return procfs.established_on_port(pids, self._watch_nginx.port)

    async def push(self, count: int) -> int:
        return int((await self._push(count))["pushed"])

    async def wait_streams_closed(self, timeout: float = 30.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline and (await self._push(0))["open"]:
            await asyncio.sleep(0.2)

    async def _push(self, count: int) -> dict[str, Any]:
        # Straight to the event server's socket: pushing is no part of what is measured.
        async with self.session.post(f"http://events{PUSH_PATH}?count={count}") as response:
            response.raise_for_status()
            result: dict[str, Any] = await response.json()
            return result


async def _started(spec: peers.PeerSpec, **kwargs: Any) -> peers.Endpoint | None:
    """A peer that fails to start is left out of this round (and said so), not the run."""
    try:
        return await peers.start(spec, **kwargs)
    except (ChildError, TimeoutError) as exc:
        warn(f"{spec.name} did not start; left out of this round: {exc}")
        return None


async def run_round(
    number: int,
    order: list[peers.PeerSpec | None],
    ups: Upstreams,
    settings: Settings,
    kinds: list[str],
) -> report.Round:
    """One round: REST load on every endpoint, then held streams on every endpoint."""
    figures: report.Round = {}
    folder = ups.folder
    endpoint: peers.Endpoint | None
    for spec in order:
        name = spec.name if spec else peers.DIRECT
        print(f"round {number}: {name}: requests (load {load_average()})", flush=True)
        if spec is None:
            endpoint = ups.direct(ups.nginx_url)
        else:
            endpoint = await _started(
                spec,
                kubeconfig=ups.rest_kubeconfig,
                log_dir=folder,
                probe_path=SMALL_PATH,
                tag=f"rest {number}",
            )
        if endpoint is None:
            continue
        try:
            figures.setdefault(name, {}).update(await measure_requests(endpoint, settings))
        finally:
            await peers.stop_endpoint(endpoint)
    for spec in order:
        name = spec.name if spec else peers.DIRECT
        for kind in kinds if spec and spec.name.startswith(KAP) else ["chunked"]:
            print(f"round {number}: {name}: {kind} watches (load {load_average()})", flush=True)
            if spec is None:
                endpoint = ups.direct(ups.events_url)
            else:
                endpoint = await _started(
                    spec,
                    kubeconfig=ups.watch_kubeconfig,
                    log_dir=folder,
                    probe_path=WATCH_PATH,
                    tag=f"{kind} {number}",
                )
            if endpoint is None:
                continue
            try:
                figures.setdefault(name, {}).update(
                    await measure_streams(
                        endpoint,
                        settings,
                        kind=kind,
                        path=WATCH_QUERY,
                        upstream_connections=ups.watch_connections,
                        push=ups.push,
                    )
                )
            finally:
                await peers.stop_endpoint(endpoint)
                await ups.wait_streams_closed()
    return figures


async def run(args: argparse.Namespace) -> int:
    settings = QUICK if args.quick else Settings()
    if args.rounds:
        settings = Settings(**{**settings.__dict__, "rounds": args.rounds})
    fd_limit = raise_fd_limit()
    kinds = ["chunked"]
    if websocket_watch_exists():
        kinds.append("websocket")
    else:
        warn("proxy/watch.py is not there: WebSocket watches not measured, chunked only")
    specs = subjects(args.workers)
    peers.compile_proxy_bytecode()
    started = datetime.datetime.now(datetime.UTC)
    load_before = load_average()
    print(f"bench: load {load_before}; fd limit {fd_limit}; {settings}", flush=True)
    rounds: list[report.Round] = []
    loads = []
    with tempfile.TemporaryDirectory(prefix="kap-bench-") as tmp:
        async with Upstreams(Path(tmp), http2=not args.upstream_http1).running() as ups:
            for number in range(1, settings.rounds + 1):
                order: list[peers.PeerSpec | None] = [None, peers.kubectl_proxy(), *specs]
                if number % 2 == 0:
                    order = [order[0], *reversed(order[1:])]
                rounds.append(await run_round(number, order, ups, settings, kinds))
                loads.append(load_average())
    summary = report.medians(rounds)
    names = [spec.name for spec in specs]
    metrics = report.REQUEST_METRICS + report.stream_metrics(settings.stream_levels, kinds)
    table = report.render_table(summary, metrics, names)
    print()
    print(table)
    print(f"\nload average (1, 5, 15 min) before: {load_before}; after each round: {loads}")
    path = report.write_json(
        RESULTS / f"{started.strftime('%Y%m%dT%H%M%SZ')}.json",
        {
            "started": started.isoformat(),
            "command": "make bench" + (" BENCH_QUICK=1" if args.quick else ""),
            "load_before": load_before,
            "load_after_rounds": loads,
            "cpus": os.cpu_count(),
            "fd_limit": fd_limit,
            "settings": settings.__dict__,
            "upstream_http2": not args.upstream_http1,
            "watch_kinds": kinds,
            "rounds": rounds,
            "medians": summary,
            "table": table,
        },
    )
    print(f"written to {path}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a short smoke run (~2 minutes)")
    parser.add_argument("--rounds", type=int, default=0, help="override the number of rounds")
    parser.add_argument(
        "--workers", type=int, default=2, help="also measure kube-auth-proxy --workers N (1: off)"
    )
    parser.add_argument(
        "--upstream-http1",
        action="store_true",
        help="both upstreams offer HTTP/1.1 only (default: h2 too, as a kube-apiserver)",
    )
    args = parser.parse_args()
    try:
        import uvloop
    except ImportError:
        runner: Any = asyncio.run
    else:
        runner = uvloop.run

    async def guarded() -> int:
        task = asyncio.current_task()
        assert task is not None
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
        return await run(args)

    try:
        return int(runner(guarded()))
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("bench: interrupted; everything started was stopped", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
