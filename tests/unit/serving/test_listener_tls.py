"""Listening beyond loopback needs authenticated callers, or an explicit, loud override."""

from __future__ import annotations

import logging

import pytest

from proxy.errors import ConfigError
from proxy.serving.listener_tls import check_exposure, is_loopback


@pytest.mark.parametrize(
    ("address", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.1.2.3", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("10.0.0.5", False),
        ("example.com", False),
    ],
)
def test_is_loopback(address: str, loopback: bool) -> None:
    assert is_loopback(address) is loopback


def test_open_address_without_authentication_is_refused() -> None:
    with pytest.raises(ConfigError) as info:
        check_exposure(
            address="0.0.0.0", unix_socket=False, authenticated=False, allow_unauthenticated=False
        )
    message = str(info.value)
    assert "--authn tokenreview" in message and "--insecure-allow-unauthenticated" in message


@pytest.mark.parametrize(("unix_socket", "authenticated"), [(True, False), (False, True)])
def test_unix_socket_or_authentication_may_listen(unix_socket: bool, authenticated: bool) -> None:
    check_exposure(
        address="0.0.0.0",
        unix_socket=unix_socket,
        authenticated=authenticated,
        allow_unauthenticated=False,
    )


def test_insisting_warns_loudly(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        check_exposure(
            address="0.0.0.0", unix_socket=False, authenticated=False, allow_unauthenticated=True
        )
    assert "SERVING UNAUTHENTICATED ON 0.0.0.0" in caplog.text
