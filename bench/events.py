"""The watch upstream's events: a tiny server that holds chunked watches and pushes stamped events.

nginx cannot push an event on demand, so held streams end here. It listens on a unix
socket behind the watch nginx (bench/upstream.py), which adds TLS and HTTP/2 with 100
streams per connection as a kube-apiserver does. Run as
`python -m bench.events --unix PATH --token T`; it prints `serving on unix:PATH`.
Each watch gets an ADDED event at once (so a proxy flushes its headers and the
client knows the stream is held); `POST /push?count=N` writes a MODIFIED event to N
streams chosen at random, each stamped with CLOCK_MONOTONIC (system-wide on Linux)
just before its write, so a client computes the delay from the upstream to it: the
nginx hop (the same for every endpoint; see the direct column) plus the proxy's.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import time

from aiohttp import hdrs, web

WATCH_PATH = "/api/v1/namespaces/bench/configmaps"
PUSH_PATH = "/push"
STAMP_KEY = "bench/sent-ns"
MAX_PUSH = 100_000

_STREAMS: web.AppKey[set[web.StreamResponse]] = web.AppKey("streams")
_TOKEN = web.AppKey("token", str)
_VERSION = web.AppKey("version", list[int])


def event_line(kind: str, resource_version: int, stamp_ns: int | None) -> bytes:
    metadata: dict[str, object] = {
        "name": "bench",
        "namespace": "bench",
        "resourceVersion": str(resource_version),
    }
    if stamp_ns is not None:
        metadata["annotations"] = {STAMP_KEY: str(stamp_ns)}
    obj = {"kind": "ConfigMap", "apiVersion": "v1", "metadata": metadata, "data": {"k": "v"}}
    return json.dumps({"type": kind, "object": obj}, separators=(",", ":")).encode() + b"\n"


async def watch(request: web.Request) -> web.StreamResponse:
    if request.headers.get(hdrs.AUTHORIZATION) != f"Bearer {request.app[_TOKEN]}":
        return web.json_response({"kind": "Status", "code": 401}, status=401)
    if request.query.get("watch") not in ("true", "1"):
        listing = {"kind": "ConfigMapList", "apiVersion": "v1", "metadata": {}, "items": []}
        return web.json_response(listing)
    response = web.StreamResponse(headers={hdrs.CONTENT_TYPE: "application/json"})
    response.enable_chunked_encoding()
    await response.prepare(request)
    await response.write(event_line("ADDED", 1, None))
    streams = request.app[_STREAMS]
    streams.add(response)
    try:
        await asyncio.get_running_loop().create_future()  # held until the client goes
    finally:
        streams.discard(response)
    return response


async def push(request: web.Request) -> web.Response:
    count = min(int(request.query.get("count", "1")), MAX_PUSH)
    streams: list[web.StreamResponse] = [*request.app[_STREAMS]]
    chosen = random.sample(streams, min(count, len(streams)))
    version = request.app[_VERSION]
    pushed = 0
    for response in chosen:
        version[0] += 1
        try:
            await response.write(event_line("MODIFIED", version[0], time.monotonic_ns()))
        except (ConnectionError, RuntimeError):
            continue
        pushed += 1
    return web.json_response({"pushed": pushed, "open": len(streams)})


def build_app(token: str) -> web.Application:
    app = web.Application()
    app[_STREAMS] = set()
    app[_TOKEN] = token
    app[_VERSION] = [1]
    app.router.add_get(WATCH_PATH, watch)
    app.router.add_post(PUSH_PATH, push)
    return app


async def serve(args: argparse.Namespace) -> None:
    runner = web.AppRunner(build_app(args.token), access_log=None, handler_cancellation=True)
    await runner.setup()
    site = web.UnixSite(runner, args.unix, backlog=4096)
    await site.start()
    print(f"serving on unix:{args.unix}", flush=True)
    try:
        await asyncio.get_running_loop().create_future()
    finally:
        await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.events")
    parser.add_argument("--unix", required=True, help="the socket path to listen on")
    parser.add_argument("--token", required=True)
    args = parser.parse_args()
    try:
        import uvloop
    except ImportError:
        runner = asyncio.run
    else:
        runner = uvloop.run
    with contextlib.suppress(KeyboardInterrupt):
        runner(serve(args))


if __name__ == "__main__":
    main()
