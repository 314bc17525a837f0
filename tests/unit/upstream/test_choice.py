"""`--upstream-protocol` picks the transports: which carries REST, which the long-lived."""

from __future__ import annotations

import pytest

from proxy.config import UpstreamProtocol
from proxy.errors import ConfigError
from proxy.upstream import choice
from proxy.upstream.choice import choose_transports, transport_name
from proxy.upstream.endpoint import Endpoint
from proxy.upstream.http1_transport import Http1Transport

ENDPOINT = Endpoint("https://127.0.0.1:6443")


@pytest.mark.parametrize("protocol", ["auto", "http1"])
def test_http1_and_auto_use_the_lean_http1_transport_for_rest(protocol: UpstreamProtocol) -> None:
    transports = choose_transports(protocol, ENDPOINT, connect_timeout=1, keepalive=0)
    assert isinstance(transports.rest, Http1Transport)
    assert transport_name(transports.rest) == "http1"
    assert transports.rest in transports.owned and transports.stream in transports.owned


def test_http2_without_its_transport_names_the_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(choice, "HTTP2_MODULE", "proxy.upstream.no_such_transport")
    with pytest.raises(ConfigError, match="--upstream-protocol http2"):
        choose_transports("http2", ENDPOINT, connect_timeout=1, keepalive=0)
