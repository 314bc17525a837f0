"""Listening on a private unix socket, as kubectl proxy --unix-socket does."""

from __future__ import annotations

import socket
import stat
from pathlib import Path

import aiohttp
import pytest

from proxy.config import ListenConfig
from proxy.errors import ConfigError
from tests.integration.conftest import StartProxy


async def test_unix_socket_is_private_and_serves(
    start_proxy: StartProxy, admin_kubeconfig: Path, tmp_path: Path
) -> None:
    path = tmp_path / "proxy.sock"
    await start_proxy(admin_kubeconfig, listen=ListenConfig(unix_socket=path))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    connector = aiohttp.UnixConnector(path=str(path))
    async with (
        aiohttp.ClientSession(connector=connector) as session,
        session.get("http://localhost/api/v1/namespaces") as response,
    ):
        assert response.status == 200
        assert (await response.json())["kind"] == "NamespaceList"


async def test_stale_socket_replaced(
    start_proxy: StartProxy, admin_kubeconfig: Path, tmp_path: Path
) -> None:
    path = tmp_path / "stale.sock"
    dead = socket.socket(socket.AF_UNIX)
    dead.bind(str(path))
    dead.close()  # the file stays, nobody listens: stale
    await start_proxy(admin_kubeconfig, listen=ListenConfig(unix_socket=path))
    assert stat.S_ISSOCK(path.stat().st_mode)


async def test_live_socket_and_regular_file_not_replaced(
    start_proxy: StartProxy, admin_kubeconfig: Path, tmp_path: Path
) -> None:
    path = tmp_path / "taken.sock"
    await start_proxy(admin_kubeconfig, listen=ListenConfig(unix_socket=path))
    with pytest.raises(ConfigError, match="another process is serving"):
        await start_proxy(admin_kubeconfig, listen=ListenConfig(unix_socket=path))
    regular = tmp_path / "notes.txt"
    regular.write_text("keep me")
    with pytest.raises(ConfigError, match="not a socket"):
        await start_proxy(admin_kubeconfig, listen=ListenConfig(unix_socket=regular))
    assert regular.read_text() == "keep me"


async def test_port_in_use_is_a_clear_error(
    start_proxy: StartProxy, admin_kubeconfig: Path
) -> None:
    first = await start_proxy(admin_kubeconfig)
    with pytest.raises(ConfigError, match=r"cannot listen on 127\.0\.0\.1"):
        await start_proxy(admin_kubeconfig, listen=ListenConfig(port=first.port))
