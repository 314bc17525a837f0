"""Several clusters on one port (k/k#97676): `/clusters/<context>/…` with --all-contexts.

Each context of the kubeconfig is served with its own credential and TLS under
its prefix; `/clusters` lists them; plain paths go to the current context. The
prefix is stripped before the filter judges the path, so the filter sees the
path the chosen API server will act on.
"""

from __future__ import annotations

import json
from urllib.parse import unquote

from aiohttp import web

from proxy.canonical import retarget
from proxy.filters import Handler
from proxy.status import status_response
from proxy.targets import LiveTargets, Targets
from proxy.upstream import Upstream

UPSTREAM_FOR = web.RequestKey("upstream_for", Upstream)
PREFIX = "/clusters"


def with_clusters(handler: Handler, live: LiveTargets) -> Handler:
    """Choose the upstream for the request (and strip `/clusters/<context>`)."""

    async def routed(request: web.Request) -> web.StreamResponse:
        targets = live.targets
        raw = request.raw_path
        upstream = targets.current.upstream
        if targets.all_contexts and (raw == PREFIX or raw.startswith((PREFIX + "/", PREFIX + "?"))):
            rest = raw[len(PREFIX) :]
            if rest in ("", "/") or rest.startswith(("?", "/?")):
                return cluster_list(targets)
            name, _, tail = rest[1:].partition("/")
            target = targets.contexts.get(unquote(name))
            if target is None:
                why = targets.failed.get(unquote(name), "no such context in the kubeconfig")
                return status_response(404, f'cluster "{unquote(name)}" is not served: {why}')
            request = retarget(request, "/" + tail)
            upstream = target.upstream
        request[UPSTREAM_FOR] = upstream
        # Held from the moment it is chosen: a reload then closes it only after this request.
        with upstream.in_flight.hold():
            return await handler(request)

    return routed


def cluster_list(targets: Targets) -> web.Response:
    current = targets.current.context.context
    body = {
        "clusters": [
            {
                "name": name,
                "path": f"{PREFIX}/{name}/",
                "server": target.upstream.base_url,
                "current": name == current,
            }
            for name, target in sorted(targets.contexts.items())
        ],
        "failed": [
            {"name": name, "error": error} for name, error in sorted(targets.failed.items())
        ],
    }
    return web.Response(text=json.dumps(body, indent=2) + "\n", content_type="application/json")
