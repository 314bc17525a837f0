"""What every handler of one fake API server shares, held under one typed app key."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aiohttp import web

from proxy.testing.auth import Authenticator, User
from proxy.testing.recording import RecordedRequest
from proxy.testing.store import Store
from proxy.testing.streams import StreamCounter

if TYPE_CHECKING:
    from proxy.testing.rbac import RBAC


@dataclass(frozen=True)
class WatchSettings:
    """How long watches live and how often they carry bookmarks."""

    timeout: float | None = None  # end every watch after this many seconds
    # Periodic bookmarks; one more comes 2 s before a watch's deadline. About a minute, as
    # the watch cache sends them.
    bookmark_interval: float = 60.0
    # --min-request-timeout: a watch without timeoutSeconds ends after a random time in
    # [this, twice this). The apiserver's default is 1800 s.
    min_request_timeout: float = 1800.0


@dataclass
class ServerState:
    store: Store
    authenticator: Authenticator
    watch: WatchSettings = WatchSettings()
    streams: StreamCounter = field(default_factory=StreamCounter)
    requests: list[RecordedRequest] = field(default_factory=list)
    clock: Callable[[], datetime.datetime] = lambda: datetime.datetime.now(datetime.UTC)
    # host:port clients reach us at, for /api serverAddressByClientCIDRs; set once bound.
    server_address: str = ""
    # None: everyone may do everything; else every request is checked (and SARs answered).
    rbac: RBAC | None = None
    # Path -> seconds to wait before answering: a slow API server, for shutdown tests.
    slow_paths: dict[str, float] = field(default_factory=dict)


STATE = web.AppKey("fake_apiserver_state", ServerState)
USER_KEY = web.RequestKey("fake_apiserver_user", User)


def request_user(request: web.Request) -> User:
    return request[USER_KEY]
