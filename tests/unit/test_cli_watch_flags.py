"""The "watch and upgrades" flags reach ServeConfig."""

from __future__ import annotations

from proxy.cli import build_parser, config_from_args
from proxy.config import ServeConfig


def serve_config(*argv: str) -> ServeConfig:
    return config_from_args(build_parser().parse_args(list(argv)), {}).serve


def test_watch_flags_default_to_30s_pings_and_no_chunked_resume() -> None:
    serve = serve_config()
    assert (serve.ws_ping_interval, serve.watch_resume) == (30.0, False)


def test_watch_flags_take_go_durations_and_booleans() -> None:
    serve = serve_config("--ws-ping-interval", "1m30s", "--watch-resume")
    assert (serve.ws_ping_interval, serve.watch_resume) == (90.0, True)
    assert serve_config("--ws-ping-interval=0", "--watch-resume=false").ws_ping_interval == 0.0
