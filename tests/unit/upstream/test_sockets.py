"""Every upstream socket: no Nagle delay, and keep-alive probes when asked for."""

from __future__ import annotations

import socket

import pytest

from proxy.upstream.sockets import configure_socket


def test_keepalive_period_sets_idle_and_interval() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        configure_socket(sock, keepalive=15.7)
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE)
        if hasattr(socket, "TCP_KEEPIDLE"):
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE) == 15
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL) == 15


def test_no_keepalive_leaves_the_probes_off() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        configure_socket(sock, keepalive=0)
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        assert not sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE)


@pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="no unix sockets")
def test_non_tcp_sockets_are_left_alone() -> None:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        configure_socket(sock, keepalive=30)
        assert not sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE)
