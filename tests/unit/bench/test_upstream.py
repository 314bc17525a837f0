"""The watch upstream's nginx: TLS and h2 with 100 streams per connection, events unbuffered."""

from __future__ import annotations

from pathlib import Path

from bench.upstream import Credentials, watch_nginx_conf


def _conf(*, http2: bool) -> str:
    return watch_nginx_conf(
        folder=Path("/x/watch-nginx"),
        port=4443,
        credentials=Credentials(ca=None, token="t", folder=Path("/x")),  # type: ignore[arg-type]
        events_socket=Path("/x/events.sock"),
        http2=http2,
    )


def test_watch_front_offers_h2_with_the_apiservers_stream_limit() -> None:
    conf = _conf(http2=True)
    assert "listen 127.0.0.1:4443 ssl http2 reuseport;" in conf
    assert "http2_max_concurrent_streams 100;" in conf
    assert "server unix:/x/events.sock;" in conf


def test_events_pass_unbuffered_and_held_streams_do_not_time_out() -> None:
    conf = _conf(http2=True)
    assert "proxy_buffering off;" in conf
    assert "proxy_http_version 1.1;" in conf
    assert "proxy_read_timeout 3600s;" in conf
    assert "send_timeout 3600s;" in conf


def test_http1_only_when_asked() -> None:
    assert "listen 127.0.0.1:4443 ssl reuseport;" in _conf(http2=False)
