"""Several clusters on one port (k/k#97676): `/clusters/<context>/…` with --all-contexts.

Each context of the kubeconfig is served with its own credential and TLS under
its prefix; `/clusters` lists them; plain paths go to the current context. The
prefix is stripped before the filter judges the path, so the filter sees the
path the chosen API server will act on. What `/clusters` answers itself (the list, a
context it does not serve) passes the gate first, as the proxy's `/-/` endpoints do, and
never carries a kubeconfig's error text: that is in the proxy's log, from start-up.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from urllib.parse import unquote

from aiohttp import web

from proxy.routing.canonical import retarget
from proxy.routing.filters import Handler
from proxy.routing.target_set import LiveTargets, Targets
from proxy.status import status_response
from proxy.upstream.session import Upstream

UPSTREAM_FOR = web.RequestKey("upstream_for", Upstream)
PREFIX = "/clusters"
FAILED_TO_LOAD = "failed to load; see the proxy's log"


def with_clusters(
    handler: Handler, live: LiveTargets, *, gate: Callable[[Handler], Handler]
) -> Handler:
    """Choose the upstream for the request (and strip `/clusters/<context>`); what the
    proxy answers itself passes `gate` (the serving layer's Host check and authentication)."""

    async def listing(request: web.Request) -> web.StreamResponse:
        return cluster_list(live.targets)

    async def not_served(request: web.Request) -> web.StreamResponse:
        name = unquote(request.raw_path[len(PREFIX) + 1 :].partition("/")[0])
        why = FAILED_TO_LOAD if name in live.targets.failed else "no such context in the kubeconfig"
        return status_response(404, f'cluster "{name}" is not served: {why}')

    listing_gated, not_served_gated = gate(listing), gate(not_served)

    async def routed(request: web.Request) -> web.StreamResponse:
        targets = live.targets
        raw = request.raw_path
        upstream = targets.current.upstream
        if targets.all_contexts and (raw == PREFIX or raw.startswith((PREFIX + "/", PREFIX + "?"))):
            rest = raw[len(PREFIX) :]
            if rest in ("", "/") or rest.startswith(("?", "/?")):
                return await listing_gated(request)
            name, _, tail = rest[1:].partition("/")
            target = targets.contexts.get(unquote(name))
            if target is None:
                return await not_served_gated(request)
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
        # The error text names files and fields of the kubeconfig: logged at load, not shown.
        "failed": [{"name": name, "error": FAILED_TO_LOAD} for name in sorted(targets.failed)],
    }
    return web.Response(text=json.dumps(body, indent=2) + "\n", content_type="application/json")
