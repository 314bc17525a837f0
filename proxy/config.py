"""Settings as frozen data. Only `cli` builds these; mechanisms take the slice they need."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

# kubectl proxy's defaults (k8s.io/kubectl/pkg/proxy), so a user can switch without reading.
DEFAULT_PORT = 8001
DEFAULT_ADDRESS = "127.0.0.1"
DEFAULT_API_PREFIX = "/"
DEFAULT_WWW_PREFIX = "/static/"
DEFAULT_HOST_ACCEPT_RE = r"^localhost$,^127\.0\.0\.1$,^\[::1\]$"
DEFAULT_PATH_ACCEPT_RE = r"^.*"
DEFAULT_PATH_REJECT_RE = r"^/api/.*/pods/.*/exec,^/api/.*/pods/.*/attach"
DEFAULT_METHOD_REJECT_RE = r"^$"
DEFAULT_WS_PING_INTERVAL = 30.0
# A client guessing tokens gets this many TokenReviews a second, after a burst of this many.
DEFAULT_AUTHN_REVIEW_QPS = 10.0
DEFAULT_AUTHN_REVIEW_BURST = 20

# The modes a flag chooses between; the flags' choices are read off these.
AuthnMode = Literal["none", "tokenreview", "client-cert"]
AuthzMode = Literal["none", "subjectaccessreview"]
ForwardAs = Literal["proxy", "caller"]
LogFormat = Literal["text", "json"]
EventLoop = Literal["asyncio", "uvloop"]
# How the proxy speaks to the API server (proxy/upstream/choice.py decides what `auto` means).
UpstreamProtocol = Literal["auto", "http1", "http2"]


# The largest watch event held while it arrives. The API server stores objects of up to
# 1.5 MiB (etcd's default --max-request-bytes) and accepts 3 MiB request bodies; as JSON an
# object grows (base64 for binary data: 4/3; escaped control characters: up to 6x), and some
# clusters raise etcd's limit. 16 MiB passes every object a stock cluster can hold, with
# room, while one watch can no longer take the proxy's memory.
DEFAULT_MAX_EVENT_BYTES = 16 * 1024 * 1024

@dataclass(frozen=True)
class FilterConfig:
    """kubectl proxy's request filter: regular expressions, searched (not anchored)."""

    accept_hosts: tuple[str, ...]
    accept_paths: tuple[str, ...]
    reject_paths: tuple[str, ...]
    reject_methods: tuple[str, ...]


@dataclass(frozen=True)
class CorsConfig:
    """`--cors-allowed-origins`: web pages on these origins may call the proxy (empty: none).

    Regular expressions matched against the whole `Origin`, unlike the kube-apiserver's
    (which searches); see proxy/cors.py.
    """

    allowed_origins: tuple[str, ...] = ()
    # --insecure-allow-any-cors-origin: accept expressions that let unrelated sites in.
    allow_any_origin: bool = False


@dataclass(frozen=True)
class ListenConfig:
    address: str = DEFAULT_ADDRESS
    port: int = DEFAULT_PORT
    unix_socket: Path | None = None


@dataclass(frozen=True)
class KubeconfigSource:
    """Where credentials come from: an explicit file, or $KUBECONFIG's list, then ~/.kube/config,
    then (in a pod) the service account."""

    explicit_path: Path | None = None
    env_paths: tuple[Path, ...] = ()
    home_path: Path | None = None
    context: str | None = None
    cluster: str | None = None
    user: str | None = None
    # In a pod: $KUBERNETES_SERVICE_HOST/PORT and the service-account folder.
    in_cluster: bool = False
    service_host: str | None = None
    service_port: str | None = None
    service_account_dir: Path = Path("/var/run/secrets/kubernetes.io/serviceaccount")


@dataclass(frozen=True)
class CredentialConfig:
    """Who the proxy acts as upstream, beyond what the kubeconfig says."""

    impersonate_user: str | None = None
    impersonate_uid: str | None = None
    impersonate_groups: tuple[str, ...] = ()
    # NAMESPACE/SERVICEACCOUNT: act with a TokenRequest token for it instead.
    token_request: str | None = None
    token_audiences: tuple[str, ...] = ()
    token_expiration_seconds: int = 3600


@dataclass(frozen=True)
class ServeConfig:
    """How requests are served and forwarded."""

    api_prefix: str = DEFAULT_API_PREFIX
    www_dir: Path | None = None
    www_prefix: str = DEFAULT_WWW_PREFIX
    # kubectl proxy drops the server URL's path unless asked; we keep it unless asked.
    append_server_path: bool = True
    # TCP keep-alive period for upstream connections, in seconds; 0 disables it.
    keepalive: float = 0.0
    # None when --disable-filter was given.
    filter: FilterConfig | None = field(
        default_factory=lambda: FilterConfig(
            accept_hosts=split_patterns(DEFAULT_HOST_ACCEPT_RE),
            accept_paths=split_patterns(DEFAULT_PATH_ACCEPT_RE),
            reject_paths=split_patterns(DEFAULT_PATH_REJECT_RE),
            reject_methods=split_patterns(DEFAULT_METHOD_REJECT_RE),
        )
    )
    connect_timeout: float = 30.0
    upstream_protocol: UpstreamProtocol = "auto"
    # WebSocket watches: ping this often (seconds; 0: never), so idle watches survive.
    ws_ping_interval: float = DEFAULT_WS_PING_INTERVAL
    # Resume chunked watches too, as WebSocket watches always are.
    watch_resume: bool = False
    # The largest watch event the proxy holds while framing it (0: no limit).
    max_watch_event_bytes: int = DEFAULT_MAX_EVENT_BYTES
    # Web pages on other origins (CORS); off by default.
    cors: CorsConfig = field(default_factory=CorsConfig)


@dataclass(frozen=True)
class SecurityConfig:
    """Who may call the proxy and what they may do."""

    authn: AuthnMode = "none"
    authn_audiences: tuple[str, ...] = ()
    authn_cache_ttl: float = 120.0
    # TokenReviews of tokens not in the cache, per client address: a token bucket (0: no limit).
    authn_review_qps: float = DEFAULT_AUTHN_REVIEW_QPS
    authn_review_burst: int = DEFAULT_AUTHN_REVIEW_BURST
    forward_as: ForwardAs = "proxy"
    authz: AuthzMode = "none"
    policy: Path | None = None
    tls_cert_file: Path | None = None
    tls_private_key_file: Path | None = None
    client_ca_file: Path | None = None
    insecure_allow_unauthenticated: bool = False
    audit_log: Path | None = None


@dataclass(frozen=True)
class LimitsConfig:
    """The listener's limits, so one client cannot starve the others (serving/limits.py)."""

    max_header_bytes: int = 64 * 1024
    max_headers: int = 128
    # The kube-apiserver's own limit for request bodies (0: no limit).
    max_body_bytes: int = 3 * 1024 * 1024
    # Between requests: how long a keep-alive connection may stay silent.
    idle_timeout: float = 120.0
    # How long a request head may take: timed from the connection's opening (so a silent
    # connection is closed at it), and on a kept-alive one from the next head's first byte.
    header_timeout: float = 10.0
    # -1: decided at start-up (512 when reachable from other hosts, none on loopback).
    max_requests_per_client: int = -1


@dataclass(frozen=True)
class OperationsConfig:
    """Running the proxy as a daemon or a sidecar: health, logs, reload, shutdown, clusters."""

    health_port: int | None = None
    health_address: str = DEFAULT_ADDRESS
    log_format: LogFormat = "text"
    # None: on with -v 1 or more, as kubectl logs requests only when asked to be verbose.
    access_log: bool | None = None
    reload: bool = True
    shutdown_grace: float = 10.0
    all_contexts: bool = False


@dataclass(frozen=True)
class ProxyConfig:
    listen: ListenConfig = field(default_factory=ListenConfig)
    serve: ServeConfig = field(default_factory=ServeConfig)
    kubeconfig: KubeconfigSource = field(default_factory=KubeconfigSource)
    credentials: CredentialConfig = field(default_factory=CredentialConfig)
    security: SecurityConfig = field(default_factory=SecurityConfig)
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    operations: OperationsConfig = field(default_factory=OperationsConfig)
    runtime: RuntimeConfig = field(default_factory=lambda: RuntimeConfig())


@dataclass(frozen=True)
class RuntimeConfig:
    """How the process runs: its event loop and its worker count."""

    event_loop: EventLoop = "asyncio"
    workers: int = 1


def split_patterns(value: str) -> tuple[str, ...]:
    """Split a kubectl-style comma-separated pattern list; an empty string means none."""
    return tuple(part for part in value.split(",") if part)
