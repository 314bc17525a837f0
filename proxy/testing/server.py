"""FakeAPIServer: the fake kube-apiserver on a loopback TLS port, for tests, demo and bench."""

from __future__ import annotations

import ssl
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import trustme
from aiohttp import web

from proxy.testing.app import build_app
from proxy.testing.auth import Authenticator, User
from proxy.testing.h2_front import H2Front
from proxy.testing.issued_tokens import TokenIssuer
from proxy.testing.kubeconfig import write_kubeconfig
from proxy.testing.pki import DEFAULT_SERVER_HOSTNAMES, build_server_ssl_context, issue_client_cert
from proxy.testing.rbac import RBAC
from proxy.testing.recording import RecordedRequest
from proxy.testing.state import ServerState, WatchSettings
from proxy.testing.status import APIError
from proxy.testing.store import Store

FAKE_NODE = "fake-node"
DEFAULT_TOKENS: Mapping[str, str | User] = {"fake-admin-token": "admin"}
# --api-audiences: service-account tokens and TokenReviews are checked against these.
DEFAULT_API_AUDIENCES: tuple[str, ...] = (
    "https://kubernetes.default.svc",
    "https://kubernetes.default.svc.cluster.local",
)


class FakeAPIServer:
    """A kube-apiserver look-alike that speaks the wire protocol clients and proxies notice.

    `async with FakeAPIServer() as api:` starts it on 127.0.0.1 with a fresh CA;
    `api.store` changes objects (and so makes watch events) from the test side.

    `tokens` maps bearer tokens to user names (or full `User`s with uid and groups);
    `anonymous=True` serves requests without credentials as system:anonymous (then
    `rbac` decides, e.g. `rbac.default_policy()`); `min_request_timeout` ends watches
    without timeoutSeconds after a random time in [it, twice it); `store` lets two
    servers (say, a short-timeout one) serve the same objects.
    """

    def __init__(
        self,
        *,
        tokens: Mapping[str, str | User] | None = None,
        basic_users: Mapping[str, str] | None = None,
        ca: trustme.CA | None = None,
        server_hostnames: Sequence[str] = DEFAULT_SERVER_HOSTNAMES,
        host: str = "127.0.0.1",
        port: int = 0,
        watch_timeout: float | None = None,
        history_size: int = 1000,
        bookmark_interval: float = 60.0,
        min_request_timeout: float = 1800.0,
        max_token_expiration: int | None = None,
        rbac: RBAC | None = None,
        store: Store | None = None,
        anonymous: bool = False,
        api_audiences: Sequence[str] = DEFAULT_API_AUDIENCES,
        http2: bool = False,
    ) -> None:
        self.ca = ca if ca is not None else trustme.CA()
        # HTTP/2 as a kube-apiserver offers it: an h2 front (h2_front.py) takes the
        # connections and `url` names it; HTTP/1.1 connections pass through it unchanged.
        self._front: H2Front | None = None
        self._http2 = http2
        self.host = host
        self.port = port
        self._hostnames = tuple(server_hostnames)
        self._state = ServerState(
            # A shared store: a second server over the same objects (another apiserver
            # instance in front of the same etcd, configured differently).
            store=store if store is not None else Store(history_size=history_size),
            authenticator=Authenticator(
                tokens=dict(DEFAULT_TOKENS if tokens is None else tokens),
                basic_users=dict(basic_users or {}),
                issuer=TokenIssuer(max_expiration=max_token_expiration),
                anonymous=anonymous,
                api_audiences=tuple(api_audiences),
            ),
            rbac=rbac,
            watch=WatchSettings(
                timeout=watch_timeout,
                bookmark_interval=bookmark_interval,
                min_request_timeout=min_request_timeout,
            ),
        )
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        """Where clients reach the server: the h2 front when it speaks HTTP/2."""
        if self._front is not None:
            return self._front.url
        return f"https://{self.host}:{self.port}"

    @property
    def front(self) -> H2Front | None:
        """The h2 front (`http2=True`): its connection and stream counters."""
        return self._front

    @property
    def ca_pem(self) -> bytes:
        return self.ca.cert_pem.bytes()

    @property
    def store(self) -> Store:
        return self._state.store

    @property
    def requests(self) -> list[RecordedRequest]:
        return self._state.requests

    def run_pod(
        self, name: str, *, namespace: str = "default", containers: Sequence[str] = ("main",)
    ) -> dict[str, Any]:
        """Create a pod that "runs": bound to the fake node, whose kubelet answers exec and
        log. Pods created otherwise never run, as on a cluster without nodes."""
        try:
            self.store.get("nodes", FAKE_NODE)
        except APIError:
            self.store.create("nodes", {"metadata": {"name": FAKE_NODE}})
        pod = {
            "metadata": {"name": name},
            "spec": {"nodeName": FAKE_NODE, "containers": [{"name": c} for c in containers]},
        }
        created = self.store.create("pods", pod, namespace=namespace)
        running = {**created, "status": {"phase": "Running", "qosClass": "BestEffort"}}
        return self.store.update_status("pods", running, namespace=namespace)

    @property
    def open_streams(self) -> int:
        return self._state.streams.count

    async def wait_open_streams(self, count: int) -> None:
        """Return once exactly `count` streams are open (wrap in asyncio.timeout)."""
        await self._state.streams.wait_for(count)

    def drop_streams(self) -> None:
        """Break off every open watch, log and exec stream now, as a dropped connection would."""
        self._state.streams.cancel_all()

    def slow_down(self, path: str, seconds: float) -> None:
        """Answer requests for `path` only after `seconds` (0 removes the delay)."""
        if seconds:
            self._state.slow_paths[path] = seconds
        else:
            self._state.slow_paths.pop(path, None)

    @property
    def rbac(self) -> RBAC | None:
        """The grants every request is checked against (None: everything allowed)."""
        return self._state.rbac

    @property
    def token_issuer(self) -> TokenIssuer:
        """Service-account tokens issued by TokenRequest (and who asked for them)."""
        return self._state.authenticator.issuer

    def add_token(self, token: str, user: str) -> None:
        """Accept another bearer token from now on (an OIDC issuer's id-tokens, say)."""
        tokens = self._state.authenticator.tokens
        assert isinstance(tokens, dict)
        tokens[token] = user

    def remove_token(self, token: str) -> None:
        tokens = self._state.authenticator.tokens
        assert isinstance(tokens, dict)
        tokens.pop(token, None)

    def issue_client_cert(self, user: str, *, groups: Sequence[str] = ()) -> trustme.LeafCert:
        return issue_client_cert(self.ca, user, groups=groups)

    def client_ssl_context(self) -> ssl.SSLContext:
        """A client context trusting this server's CA."""
        context = ssl.create_default_context()
        self.ca.configure_trust(context)
        return context

    def kubeconfig(self, path: Path, **kwargs: Any) -> Path:
        """write_kubeconfig for this server: server and CA filled in; the first token by
        default when no other credential is given."""
        kwargs.setdefault("server", self.url)
        if "ca_file" not in kwargs and not kwargs.get("insecure"):
            kwargs.setdefault("ca_pem", self.ca_pem)
        credentials = ("token", "token_file", "username", "client_cert_pem")
        tokens = self._state.authenticator.tokens
        if not any(kwargs.get(name) is not None for name in credentials) and tokens:
            kwargs["token"] = next(iter(tokens))
        return write_kubeconfig(path, **kwargs)

    async def start(self) -> None:
        context = build_server_ssl_context(self.ca, hostnames=self._hostnames)
        # auto_decompress off: the apiserver reads a gzip request body as the bytes it is.
        runner = web.AppRunner(
            build_app(self._state), handler_cancellation=True, access_log=None,
            auto_decompress=False,
        )
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port, ssl_context=context)
        await site.start()
        self._runner = runner
        self.port = runner.addresses[0][1]
        self._state.server_address = f"{self.host}:{self.port}"
        if self._http2:
            front = H2Front(upstream=f"https://{self.host}:{self.port}", ca=self.ca,
                            server_hostnames=self._hostnames)
            await front.start()
            self._front = front

    async def stop(self) -> None:
        if self._runner is None:
            return
        self._state.streams.cancel_all()
        if self._front is not None:
            await self._front.stop()
            self._front = None
        await self._runner.cleanup()
        self._runner = None

    async def __aenter__(self) -> FakeAPIServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()
