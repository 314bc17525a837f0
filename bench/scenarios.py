"""One endpoint under one kind of load: the figures of a round, as plain numbers."""

from __future__ import annotations

import asyncio
import statistics
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bench import procfs
from bench.load import download, run_wrk
from bench.peers import Endpoint
from bench.streams import StreamSet, measure_delays, watch_request
from bench.upstream import LARGE_BYTES, LARGE_PATH, LIST_PATH, SMALL_PATH

Figures = dict[str, float | None]
Push = Callable[[int], Awaitable[int]]
Count = Callable[[], int]


@dataclass(frozen=True)
class Settings:
    rounds: int = 2
    warmup_seconds: float = 1.0
    wrk_seconds: float = 5.0
    connections: int = 50
    large_downloads: int = 3
    stream_levels: tuple[int, ...] = (1_000, 2_000, 10_000)
    open_concurrency: int = 200
    open_budget_seconds: float = 60.0
    pushes: int = 5
    per_push: int = 100


def warn(message: str) -> None:
    print(f"  ! {message}", file=sys.stderr, flush=True)


async def measure_requests(endpoint: Endpoint, settings: Settings) -> Figures:
    """1 KB and 1 MB GETs with wrk, the 50 MB GET, and the start-up time already taken."""
    pids = procfs.tree_pids(endpoint.pid) if endpoint.pid else []
    figures: Figures = {}
    for name, path in (("small", SMALL_PATH), ("list", LIST_PATH)):
        url = endpoint.base_url + path
        await run_wrk(
            url,
            connections=settings.connections,
            seconds=settings.warmup_seconds,
            headers=endpoint.headers,
        )
        cpu_before = procfs.cpu_seconds(pids)
        result = await run_wrk(
            url,
            connections=settings.connections,
            seconds=settings.wrk_seconds,
            headers=endpoint.headers,
        )
        cpu = procfs.cpu_seconds(pids) - cpu_before
        if result.non_2xx or result.socket_errors:
            warn(
                f"{endpoint.name} {path}: {result.non_2xx} non-2xx answers, "
                f"{result.socket_errors} socket errors"
            )
        figures[f"{name}_rps"] = result.requests_per_second
        figures[f"{name}_p50_ms"] = result.p50_ms
        figures[f"{name}_p99_ms"] = result.p99_ms
        figures[f"{name}_errors"] = float(result.non_2xx + result.socket_errors)
        figures[f"{name}_cpu_per_1k"] = (
            cpu / result.requests * 1000 if pids and result.requests else None
        )
    procfs.reset_peak_rss(pids)
    baseline = procfs.rss_bytes(pids)
    rates = []
    for _ in range(settings.large_downloads):
        got = await download(
            endpoint.base_url + LARGE_PATH,
            headers=endpoint.headers,
            ssl_context=endpoint.ssl_context,
        )
        if got.status != 200 or got.size < LARGE_BYTES:
            warn(f"{endpoint.name} {LARGE_PATH}: status {got.status}, {got.size} bytes")
        rates.append(got.megabytes_per_second)
    figures["large_mbps"] = statistics.median(rates)
    figures["large_rss_growth_mib"] = (
        (procfs.peak_rss_bytes(pids) - baseline) / 2**20 if pids else None
    )
    figures["startup_ms"] = (
        endpoint.startup_seconds * 1000 if endpoint.startup_seconds is not None else None
    )
    return figures


async def measure_streams(
    endpoint: Endpoint,
    settings: Settings,
    *,
    kind: str,
    path: str,
    upstream_connections: Count,
    push: Push,
) -> Figures:
    """Hold streams at each level; memory per stream, upstream connections, event delays.

    `upstream_connections` counts on the upstream's side, so it is measured for every
    endpoint alike (for direct, the harness's own connections).
    """
    host_port = endpoint.base_url.split("://", 1)[1]
    host, _, port = host_port.rpartition(":")
    stream_set = StreamSet(
        host=host,
        port=int(port),
        request=watch_request(
            path, host=host_port, headers=endpoint.headers, websocket=kind == "websocket"
        ),
        ssl_context=endpoint.ssl_context,
    )
    pids = procfs.tree_pids(endpoint.pid) if endpoint.pid else []
    baseline = procfs.rss_bytes(pids)
    figures: Figures = {}
    try:
        for level in settings.stream_levels:
            held = await stream_set.grow_to(
                level,
                concurrency=settings.open_concurrency,
                budget=settings.open_budget_seconds,
            )
            if held < level:
                warn(f"{endpoint.name} {kind}: {held:,} of {level:,} streams held")
            await asyncio.sleep(1.0)
            prefix = f"{kind}_{level}"
            figures[f"{prefix}_held"] = float(held)
            pids = procfs.tree_pids(endpoint.pid) if endpoint.pid else []
            figures[f"{prefix}_kib_per_stream"] = (
                (procfs.rss_bytes(pids) - baseline) / held / 1024 if pids and held else None
            )
            figures[f"{prefix}_upstream_conns"] = float(upstream_connections())
            delays = await measure_delays(
                push, stream_set, pushes=settings.pushes, per_push=settings.per_push, wait=15.0
            )
            if delays.samples < delays.expected:
                warn(f"{endpoint.name} {kind}: {delays.samples} of {delays.expected} events seen")
            figures[f"{prefix}_delay_p50_ms"] = delays.p50_ms if delays.samples else None
            figures[f"{prefix}_delay_p99_ms"] = delays.p99_ms if delays.samples else None
    finally:
        stream_set.close()
    return figures
