"""Connections counted on the server's side, as the API server would see them."""

from __future__ import annotations

import os
import socket

from bench.procfs import established_on_port


def test_counts_connections_accepted_on_the_port_not_those_made_to_it() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(3)]
        accepted = [server.accept()[0] for _ in clients]
        try:
            # This process holds both ends; only the three accepted ends are on `port`.
            assert established_on_port([os.getpid()], port) == 3
            accepted[0].close()
            assert established_on_port([os.getpid()], port) == 2
        finally:
            for sock in clients + accepted:
                sock.close()


def test_sockets_of_other_processes_are_not_counted() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port)), server.accept()[0]:
            assert established_on_port([], port) == 0
