"""`--upstream-protocol` picks the transports: which carries REST, which the long-lived."""

from __future__ import annotations

import pytest

from proxy.config import UpstreamProtocol
from proxy.upstream.choice import choose_transports, transport_name
from proxy.upstream.endpoint import Endpoint
from proxy.upstream.http1_transport import Http1Transport
from proxy.upstream.http2_transport import Http2Transport

ENDPOINT = Endpoint("https://127.0.0.1:6443")


@pytest.mark.parametrize("protocol", ["auto", "http1"])
def test_http1_and_auto_use_the_lean_http1_transport_for_rest(protocol: UpstreamProtocol) -> None:
    transports = choose_transports(protocol, ENDPOINT, connect_timeout=1, keepalive=0)
    assert isinstance(transports.rest, Http1Transport)
    assert transport_name(transports.rest) == "http1"
    assert transports.rest in transports.owned and transports.stream in transports.owned


def test_http2_carries_everything_with_http1_as_its_fallback() -> None:
    transports = choose_transports("http2", ENDPOINT, connect_timeout=1, keepalive=0)
    assert isinstance(transports.rest, Http2Transport) and transports.stream is transports.rest
    assert [transport_name(t) for t in transports.owned] == ["http2", "http1"]


def test_auto_sends_only_long_lived_requests_over_http2() -> None:
    transports = choose_transports("auto", ENDPOINT, connect_timeout=1, keepalive=0)
    assert isinstance(transports.rest, Http1Transport)
    assert isinstance(transports.stream, Http2Transport)


def test_auto_over_plain_http_is_http1_only() -> None:
    transports = choose_transports(
        "auto", Endpoint("http://127.0.0.1:8080"), connect_timeout=1, keepalive=0)
    assert transports.owned == (transports.rest,) and transports.stream is transports.rest
