"""`python -m bench.startup`: start-up to the first served request, kubectl proxy beside ours.

The same scenario as the start-up row of `make bench` (the proxy's bytecode compiled
first; spawn, banner, first 200 through the proxy from the nginx upstream over TLS),
repeated `--runs` times with the proxies alternating, so a change to what the proxy
imports can be judged in a minute rather than in a full bench. Prints the median and
the range for each; stops everything.

    python -m bench.startup --runs 9
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
from pathlib import Path

from bench import peers
from bench.children import stop
from bench.upstream import SMALL_PATH, Credentials, start_nginx
from proxy.testing.kubeconfig import write_kubeconfig

KAP = "kube-auth-proxy"
MAX_RUNS = 50


async def measure(runs: int, extra: list[str]) -> dict[str, list[float]]:
    """Start-up seconds per proxy, `runs` each, alternating which goes first."""
    specs = [peers.kubectl_proxy(), peers.kube_auth_proxy(KAP, extra)]
    times: dict[str, list[float]] = {spec.name: [] for spec in specs}
    peers.compile_proxy_bytecode()
    with tempfile.TemporaryDirectory(prefix="kap-startup-") as tmp:
        folder = Path(tmp)
        credentials = Credentials.create(folder)
        nginx = await start_nginx(folder, credentials)
        try:
            kubeconfig = folder / "rest.kubeconfig"
            write_kubeconfig(
                kubeconfig,
                server=nginx.url,
                ca_pem=credentials.ca.cert_pem.bytes(),
                token=credentials.token,
            )
            for number in range(runs):
                for spec in specs if number % 2 == 0 else reversed(specs):
                    endpoint = await peers.start(
                        spec,
                        kubeconfig=kubeconfig,
                        log_dir=folder,
                        probe_path=SMALL_PATH,
                        tag=f"startup {number}",
                    )
                    await peers.stop_endpoint(endpoint)
                    assert endpoint.startup_seconds is not None
                    times[spec.name].append(endpoint.startup_seconds)
        finally:
            await stop(nginx.child)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.startup", description=__doc__)
    parser.add_argument("--runs", type=int, default=9, help=f"starts per proxy (max {MAX_RUNS})")
    parser.add_argument(
        "extra", nargs="*", help="more kube-auth-proxy flags (after --), e.g. -- --workers 2"
    )
    args = parser.parse_args()
    times = asyncio.run(measure(max(1, min(args.runs, MAX_RUNS)), args.extra))
    kubectl = statistics.median(times[peers.KUBECTL_PROXY])
    for name, values in times.items():
        ms = sorted(v * 1000 for v in values)
        median = statistics.median(ms)
        print(
            f"{name:16} median {median:6.0f} ms  range {ms[0]:.0f}-{ms[-1]:.0f} ms  "
            f"({median / 1000 / kubectl:.2f}x kubectl proxy; {len(ms)} starts)",
            file=sys.stdout,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
