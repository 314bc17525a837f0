"""Which responses shutdown may end early: watches and followed logs, never a list."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import make_mocked_request

from proxy.streams.forward import is_endless


@pytest.mark.parametrize(
    ("path", "endless"),
    [
        ("/api/v1/namespaces/default/configmaps?watch=true", True),
        ("/api/v1/watch/namespaces/default/configmaps", True),
        ("/api/v1/namespaces/default/pods/web/log?follow=true", True),
        ("/api/v1/namespaces/default/pods/web/log", False),
        ("/api/v1/namespaces/default/configmaps", False),
        ("/api/v1/namespaces/default/configmaps?watch=false", False),
    ],
)
def test_is_endless(path: str, endless: bool) -> None:
    assert is_endless(make_mocked_request("GET", path)) is endless
