"""The socket options of every connection to the API server, whichever transport opened it."""

from __future__ import annotations

import socket
from typing import Any


def configure_socket(sock: Any, *, keepalive: float) -> None:
    """No Nagle delay, and TCP keep-alive probes every `keepalive` seconds (0: off).

    Keep-alive finds a dead peer on a watch that is silent for hours (a NAT or a
    load balancer that dropped it) instead of leaving it open forever. `sock` is
    a `socket.socket`, or the stand-in asyncio hands out for one of its transports.
    """
    if sock is None or sock.family not in (socket.AF_INET, socket.AF_INET6):
        return
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if keepalive <= 0:
        return
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    if hasattr(socket, "TCP_KEEPIDLE"):
        period = max(1, int(keepalive))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, period)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, period)

