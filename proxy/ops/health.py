"""`/livez`, `/readyz`, `/healthz`: answered by the proxy itself, in the kube-apiserver's format.

    GET /readyz          -> 200 "ok", or 500 "[-]upstream failed: reason withheld ..."
    GET /readyz?verbose  -> one "[+]name ok" / "[-]name failed: <why>" line per check

`<why>` is given only where the caller passed the main listener's gate (proxy/gate.py);
the `--health-port` listener, which anyone who reaches it may call, withholds it always.

Ready means a request could be served now: a credential can be obtained, and
the API server answers with it. The answer is cached for a moment so probes
cannot hammer the API server.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from proxy.clock import Clock
from proxy.errors import ProxyError
from proxy.redact import redact
from proxy.upstream.session import Upstream

CHECK_TIMEOUT_SECONDS = 5.0
CACHE_SECONDS = 2.0


@dataclass(frozen=True)
class CheckResult:
    name: str
    error: str | None = None


class HealthChecks:
    def __init__(self, upstream: Callable[[], Upstream], *, clock: Clock = time.monotonic):
        self._upstream = upstream
        self._clock = clock
        self._cached: tuple[float, list[CheckResult]] | None = None
        self._lock = asyncio.Lock()

    async def livez(self, request: web.Request) -> web.Response:
        """Alive: the event loop answers. Restarting the proxy fixes nothing upstream."""
        return _answer(request, "livez", [CheckResult("ping")], reasons=False)

    async def readyz(self, request: web.Request) -> web.Response:
        """For callers past the gate: `?verbose` says why a check failed."""
        results = [CheckResult("ping"), *await self._readiness()]
        return _answer(request, "readyz", results, reasons=True)

    async def readyz_for_probes(self, request: web.Request) -> web.Response:
        """For `--health-port`: `?verbose` names the checks and whether each passed, never why."""
        results = [CheckResult("ping"), *await self._readiness()]
        return _answer(request, "readyz", results, reasons=False)

    async def _readiness(self) -> list[CheckResult]:
        async with self._lock:
            now = self._clock()
            if self._cached is not None and now - self._cached[0] < CACHE_SECONDS:
                return self._cached[1]
            results = await self._check()
            self._cached = (self._clock(), results)
            return results

    async def _check(self) -> list[CheckResult]:
        upstream = self._upstream()
        try:
            async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
                await upstream.credentials.credential()
        except ProxyError as exc:
            return [CheckResult("credential", str(exc)), CheckResult("upstream", "not checked")]
        except TimeoutError:
            return [CheckResult("credential", "timed out"), CheckResult("upstream", "not checked")]
        try:
            async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
                status, _ = await upstream.request_json("GET", "/version", None,
                                                        upstream.credentials)
        except ProxyError as exc:
            return [CheckResult("credential"), CheckResult("upstream", str(exc))]
        except TimeoutError:
            return [CheckResult("credential"), CheckResult("upstream", "timed out")]
        if 300 <= status < 400:
            return [CheckResult("credential"), CheckResult(
                "upstream", f"GET /version answered a redirect ({status}); not followed")]
        if status >= 500 or status in (401, 403):
            return [CheckResult("credential"),
                    CheckResult("upstream", f"GET /version answered {status}")]
        return [CheckResult("credential"), CheckResult("upstream")]


def _answer(
    request: web.Request, name: str, results: list[CheckResult], *, reasons: bool
) -> web.Response:
    failed = any(r.error for r in results)
    verbose = "verbose" in request.query
    if not verbose and not failed:
        return web.Response(text="ok")
    lines = []
    for result in results:
        if result.error is None:
            lines.append(f"[+]{result.name} ok")
        else:
            # Errors are written to be shown (an exec plugin's is its name and exit code);
            # masking again is the last line of defence.
            why = redact(result.error) if verbose and reasons else "reason withheld"
            lines.append(f"[-]{result.name} failed: {why}")
    lines.append(f"{name} check {'failed' if failed else 'passed'}")
    return web.Response(status=500 if failed else 200, text="\n".join(lines) + "\n")
