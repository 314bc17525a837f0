"""The private unix socket, bound once for one process or for every worker."""

from __future__ import annotations

import os
import socket
import stat
from pathlib import Path

import pytest

from proxy.errors import ConfigError
from proxy.serving.server import bind_private_unix_socket


def test_unix_socket_is_private_from_birth_and_listens(tmp_path: Path) -> None:
    path = tmp_path / "proxy.sock"
    umask = os.umask(0o022)
    try:
        with bind_private_unix_socket(path):
            assert stat.S_IMODE(path.stat().st_mode) == 0o600
            with socket.socket(socket.AF_UNIX) as client:
                client.connect(str(path))  # listening: the kernel queues the connection
        assert os.umask(0o022) == 0o022, "the process umask is given back"
    finally:
        os.umask(umask)


def test_stale_unix_socket_replaced(tmp_path: Path) -> None:
    path = tmp_path / "stale.sock"
    with socket.socket(socket.AF_UNIX) as dead:
        dead.bind(str(path))  # the file stays, nobody listens
    with bind_private_unix_socket(path):
        assert stat.S_ISSOCK(path.stat().st_mode)


def test_live_unix_socket_not_replaced(tmp_path: Path) -> None:
    path = tmp_path / "taken.sock"
    with bind_private_unix_socket(path), pytest.raises(
        ConfigError, match="another process is serving"
    ):
        bind_private_unix_socket(path)


def test_regular_file_not_replaced(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("keep me")
    with pytest.raises(ConfigError, match="not a socket"):
        bind_private_unix_socket(path)
    assert path.read_text() == "keep me"


def test_unbindable_path_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^cannot listen on .*missing/p\.sock: no such file"):
        bind_private_unix_socket(tmp_path / "missing" / "p.sock")
