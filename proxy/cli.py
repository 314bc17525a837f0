"""The command line: kubectl proxy's flags and defaults, turned into a `ProxyConfig`.

This is the only module that reads argv and the environment.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import socket
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from proxy import __version__
from proxy.config import (
    DEFAULT_ADDRESS,
    DEFAULT_API_PREFIX,
    DEFAULT_AUTHN_REVIEW_BURST,
    DEFAULT_AUTHN_REVIEW_QPS,
    DEFAULT_HOST_ACCEPT_RE,
    DEFAULT_METHOD_REJECT_RE,
    DEFAULT_PATH_ACCEPT_RE,
    DEFAULT_PATH_REJECT_RE,
    DEFAULT_PORT,
    DEFAULT_WS_PING_INTERVAL,
    DEFAULT_WWW_PREFIX,
    CorsConfig,
    CredentialConfig,
    FilterConfig,
    KubeconfigSource,
    LimitsConfig,
    ListenConfig,
    OperationsConfig,
    ProxyConfig,
    RuntimeConfig,
    SecurityConfig,
    ServeConfig,
    split_patterns,
)
from proxy.errors import ConfigError
from proxy.kubeconfig.in_cluster import SERVICE_ACCOUNT_DIR
from proxy.options_file import ENV_PREFIX, apply_defaults, read_config_file
from proxy.redact import redact
from proxy.serving.eventloop import EVENT_LOOPS, UVLOOP, default_event_loop
from proxy.serving.guards import AUTHN_MODES, AUTHZ_MODES, FORWARD_AS
from proxy.serving.run import configure_logging, run
from proxy.serving.workers import MAX_WORKERS
from proxy.streams.watch_codecs import DEFAULT_MAX_EVENT_BYTES

log = logging.getLogger("proxy")

CONFIG_VARIABLE = ENV_PREFIX + "CONFIG"

_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(value: str) -> float:
    """A Go duration ("30s", "1m30s", "0") in seconds, as kubectl's --keepalive takes it."""
    text = value.strip()
    if text in ("0", ""):
        return 0.0
    position, total = 0, 0.0
    while position < len(text):
        match = _DURATION_PART.match(text, position)
        if match is None:
            raise argparse.ArgumentTypeError(
                f"invalid duration {value!r}: use a number with a unit, e.g. 30s, 5m, 1h"
            )
        total += float(match.group(1)) * _DURATION_UNITS[match.group(2)]
        position = match.end()
    return total


def parse_bool(value: str) -> bool:
    """Go's flag booleans: --flag, --flag=true, --flag=false (and 1/0, t/f)."""
    lowered = value.lower()
    if lowered in ("1", "t", "true"):
        return True
    if lowered in ("0", "f", "false"):
        return False
    raise argparse.ArgumentTypeError(f"invalid boolean {value!r}: use true or false")


def int_in_range(low: int, high: int | None, *, what: str, form: str) -> Callable[[str], int]:
    """A flag parser for whole numbers in [low, high], with kubectl-like messages."""

    def parse(value: str) -> int:
        try:
            number: int | None = int(value)
        except ValueError:
            number = None
        if number is None or number < low or (high is not None and number > high):
            raise argparse.ArgumentTypeError(f"invalid {what} {value!r}: {form}")
        return number

    return parse


parse_port = int_in_range(0, 65535, what="port", form="a number 0-65535")
parse_workers = int_in_range(1, MAX_WORKERS, what="worker count", form=f"1-{MAX_WORKERS}")
positive_int = int_in_range(1, None, what="value", form="a whole number above 0")
non_negative_int = int_in_range(0, None, what="value", form="a whole number, 0 or more")


def non_negative_float(value: str) -> float:
    """A rate such as --authn-review-qps: a number, 0 or more."""
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not number >= 0 or number == float("inf"):
        raise argparse.ArgumentTypeError(f"invalid value {value!r}: a number, 0 or more")
    return number


def _bool_flag(
    group: argparse._ArgumentGroup, name: str, *, default: bool | None, help: str
) -> None:
    group.add_argument(
        name, nargs="?", const=True, default=default, type=parse_bool, metavar="BOOL", help=help
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kube-auth-proxy",
        description="Serve the Kubernetes API on localhost with your kubeconfig's credentials, "
        "verifying the API server's certificate. A drop-in for `kubectl proxy`.",
        allow_abbrev=False,
    )
    proxy = parser.add_argument_group("kubectl proxy's flags (same names, same defaults)")
    proxy.add_argument(
        "-p",
        "--port",
        type=parse_port,
        default=DEFAULT_PORT,
        help="port to listen on; 0 picks a free one (default %(default)s)",
    )
    proxy.add_argument(
        "--address", default=DEFAULT_ADDRESS, help="IP address to listen on (default %(default)s)"
    )
    proxy.add_argument(
        "-u",
        "--unix-socket",
        type=Path,
        default=None,
        metavar="PATH",
        help="listen on this unix socket (mode 0600) instead of TCP",
    )
    proxy.add_argument(
        "--api-prefix",
        default=DEFAULT_API_PREFIX,
        help="prefix to serve the proxied API under (default %(default)s)",
    )
    proxy.add_argument(
        "-w",
        "--www",
        type=Path,
        default=None,
        metavar="DIR",
        help="also serve static files from this directory under --www-prefix",
    )
    proxy.add_argument(
        "-P",
        "--www-prefix",
        default=DEFAULT_WWW_PREFIX,
        help="prefix to serve static files under (default %(default)s)",
    )
    _bool_flag(
        proxy,
        "--append-server-path",
        default=True,
        help="keep the kubeconfig server URL's path in front of each request path "
        "(default true; kubectl proxy's default is false)",
    )
    proxy.add_argument(
        "--keepalive",
        type=parse_duration,
        default=0.0,
        metavar="DURATION",
        help="TCP keep-alive period for upstream connections; 0 disables it",
    )
    proxy.add_argument(
        "--accept-hosts",
        default=DEFAULT_HOST_ACCEPT_RE,
        metavar="REGEXES",
        help="comma-separated regular expressions of Host names to accept (default %(default)s)",
    )
    proxy.add_argument(
        "--accept-paths",
        default=DEFAULT_PATH_ACCEPT_RE,
        metavar="REGEXES",
        help="regular expressions of paths to accept (default %(default)s)",
    )
    proxy.add_argument(
        "--reject-paths",
        default=DEFAULT_PATH_REJECT_RE,
        metavar="REGEXES",
        help="regular expressions of paths to reject (default %(default)s)",
    )
    proxy.add_argument(
        "--reject-methods",
        default=DEFAULT_METHOD_REJECT_RE,
        metavar="REGEXES",
        help="regular expressions of HTTP methods to reject (default %(default)s: none)",
    )
    _bool_flag(
        proxy,
        "--disable-filter",
        default=False,
        help="serve every host, path and method: dangerous, opens the proxy to XSRF",
    )

    kube = parser.add_argument_group("kubeconfig")
    kube.add_argument(
        "--kubeconfig",
        type=Path,
        default=None,
        metavar="FILE",
        help="kubeconfig file to use (default: $KUBECONFIG, then ~/.kube/config)",
    )
    kube.add_argument("--context", default=None, help="kubeconfig context to use")
    kube.add_argument("--cluster", default=None, help="kubeconfig cluster to use")
    kube.add_argument("--user", default=None, help="kubeconfig user to use")

    kube.add_argument(
        "--in-cluster",
        action="store_true",
        help="use the pod's service account even if a kubeconfig exists "
        "(without a kubeconfig it is used whenever KUBERNETES_SERVICE_HOST is set)",
    )
    kube.add_argument(
        "--service-account-dir",
        type=Path,
        default=SERVICE_ACCOUNT_DIR,
        metavar="DIR",
        help="where the service account's token, ca.crt and namespace are (default %(default)s)",
    )

    creds = parser.add_argument_group("credentials")
    creds.add_argument(
        "--as",
        dest="as_user",
        default=None,
        metavar="USER",
        help="impersonate this user upstream (overrides the kubeconfig's `as`)",
    )
    creds.add_argument(
        "--as-group",
        dest="as_groups",
        action="append",
        default=[],
        metavar="GROUP",
        help="impersonate this group; repeatable",
    )
    creds.add_argument("--as-uid", default=None, metavar="UID", help="impersonate this UID")
    creds.add_argument(
        "--token-request",
        default=None,
        metavar="NAMESPACE/SERVICEACCOUNT",
        help="act with a short-lived token for this service account, obtained "
        "with the kubeconfig's identity (TokenRequest): least privilege",
    )
    creds.add_argument(
        "--token-audience",
        dest="token_audiences",
        action="append",
        default=[],
        metavar="AUDIENCE",
        help="audience of the requested token; repeatable",
    )
    creds.add_argument(
        "--token-expiration",
        type=parse_duration,
        default=3600.0,
        metavar="DURATION",
        help="lifetime to ask for (default 1h; renewed at "
        "80%% of the lifetime the API server grants)",
    )

    watch = parser.add_argument_group("watch and upgrades")
    watch.add_argument(
        "--ws-ping-interval",
        type=parse_duration,
        default=DEFAULT_WS_PING_INTERVAL,
        metavar="DURATION",
        help="ping WebSocket watches this often so idle ones survive load balancers "
        "(default 30s; 0 disables)",
    )
    _bool_flag(
        watch,
        "--watch-resume",
        default=False,
        help="resume chunked watches the API server ends, as WebSocket watches always are",
    )
    watch.add_argument(
        "--max-watch-event-bytes",
        type=non_negative_int,
        default=DEFAULT_MAX_EVENT_BYTES,
        metavar="BYTES",
        help="largest watch event held while framing a WebSocket or resumed watch; a larger "
        "one ends the watch with an ERROR event (default 16777216; 0: no limit)",
    )

    listener = parser.add_argument_group("listener")
    listener.add_argument(
        "--tls-cert-file",
        type=Path,
        default=None,
        metavar="FILE",
        help="serve HTTPS with this certificate (reloaded when it changes)",
    )
    listener.add_argument(
        "--tls-private-key-file",
        type=Path,
        default=None,
        metavar="FILE",
        help="the key of --tls-cert-file",
    )
    listener.add_argument(
        "--client-ca-file",
        type=Path,
        default=None,
        metavar="FILE",
        help="verify client certificates against this CA",
    )
    listener.add_argument(
        "--max-header-bytes",
        type=positive_int,
        default=64 * 1024,
        metavar="BYTES",
        help="longest request line or header (default 65536)",
    )
    listener.add_argument(
        "--max-headers",
        type=positive_int,
        default=128,
        metavar="N",
        help="most request headers (default 128)",
    )
    listener.add_argument(
        "--max-body-bytes",
        type=int,
        default=3 * 1024 * 1024,
        metavar="BYTES",
        help="largest request body, as the kube-apiserver's (default 3145728; 0: no limit)",
    )
    listener.add_argument(
        "--idle-timeout",
        type=parse_duration,
        default=120.0,
        metavar="DURATION",
        help="close idle keep-alive connections after this (default 2m)",
    )
    listener.add_argument(
        "--header-timeout",
        type=parse_duration,
        default=10.0,
        metavar="DURATION",
        help="a request head must arrive within this of its first byte (slowloris; default 10s)",
    )
    listener.add_argument(
        "--max-requests-per-client",
        type=int,
        default=-1,
        metavar="N",
        help="concurrent requests per client address, watches included "
        "(default: 512 when reachable from other hosts, none on loopback; "
        "0: no limit)",
    )

    security = parser.add_argument_group("security")
    security.add_argument(
        "--authn",
        choices=AUTHN_MODES,
        default="none",
        help="authenticate callers: tokenreview (each presents its own bearer "
        "token) or client-cert (CN user, O groups); default none",
    )
    security.add_argument(
        "--authn-audiences",
        dest="authn_audiences",
        action="append",
        default=[],
        metavar="AUDIENCE",
        help="TokenReview audiences the caller's token must be for; repeatable",
    )
    security.add_argument(
        "--authn-cache-ttl",
        type=parse_duration,
        default=120.0,
        metavar="DURATION",
        help="how long a positive TokenReview is cached (default 2m)",
    )
    security.add_argument(
        "--authn-review-qps",
        type=non_negative_float,
        default=DEFAULT_AUTHN_REVIEW_QPS,
        metavar="N",
        help="TokenReviews per second for tokens not in the cache, per client address; "
        "beyond it 429 (default 10; 0: no limit)",
    )
    security.add_argument(
        "--authn-review-burst",
        type=positive_int,
        default=DEFAULT_AUTHN_REVIEW_BURST,
        metavar="N",
        help="TokenReviews a client address may make at once before --authn-review-qps "
        "applies (default 20)",
    )
    security.add_argument(
        "--forward-as",
        choices=FORWARD_AS,
        default="proxy",
        help="who acts upstream: the proxy's credential (default), or the "
        "authenticated caller, impersonated",
    )
    security.add_argument(
        "--authz",
        choices=AUTHZ_MODES,
        default="none",
        help="authorize each request with a SubjectAccessReview for the caller",
    )
    security.add_argument(
        "--policy",
        type=Path,
        default=None,
        metavar="FILE",
        help="authorize with this static policy instead (config/policy.example.yaml)",
    )
    security.add_argument(
        "--insecure-allow-unauthenticated",
        action="store_true",
        help="listen beyond loopback without authenticating callers (anyone "
        "who reaches the port acts with the proxy's credentials)",
    )
    security.add_argument(
        "--cors-allowed-origins",
        default="",
        metavar="REGEXES",
        help="comma-separated regular expressions of the origins of web pages that may call "
        "the proxy from a browser (CORS, and WebSocket watches); each must match the whole "
        "Origin, e.g. ^https://dash\\.example\\.com$ (default: none)",
    )
    security.add_argument(
        "--insecure-allow-any-cors-origin",
        action="store_true",
        help="accept --cors-allowed-origins expressions that let any web site in (.*, "
        "https?://.*, null): every page a user opens could then use the proxy",
    )
    security.add_argument(
        "--audit-log",
        type=Path,
        default=None,
        metavar="FILE",
        help="write one JSON line per request here ('-' for standard output)",
    )

    ops = parser.add_argument_group("operations")
    ops.add_argument(
        "--config",
        type=Path,
        default=None,
        metavar="FILE",
        help="read options from this YAML file (config/kube-auth-proxy.example."
        "yaml lists them all); flags and KUBE_AUTH_PROXY_* variables override it",
    )
    ops.add_argument(
        "--health-port",
        type=parse_port,
        default=None,
        metavar="PORT",
        help="also serve /healthz, /livez, /readyz and /metrics on this port "
        "(for probes); the main port serves them under /-/ anyway",
    )
    ops.add_argument(
        "--health-address",
        default=DEFAULT_ADDRESS,
        metavar="ADDRESS",
        help="address of --health-port (default %(default)s; 0.0.0.0 in a pod, "
        "where the kubelet probes the pod's IP)",
    )
    ops.add_argument(
        "--log-format",
        choices=("text", "json"),
        default="text",
        help="log lines as text (default) or one JSON object each",
    )
    _bool_flag(
        ops,
        "--access-log",
        default=None,
        help="log one line per request (default: with -v 1 or more)",
    )
    _bool_flag(
        ops,
        "--reload",
        default=True,
        help="re-read the kubeconfig when it changes (default true; SIGHUP always does)",
    )
    ops.add_argument(
        "--shutdown-grace",
        type=parse_duration,
        default=10.0,
        metavar="DURATION",
        help="on SIGTERM, how long requests in flight may take to finish (default "
        "10s); watches are ended at once, cleanly",
    )
    ops.add_argument(
        "--all-contexts",
        action="store_true",
        help="serve every context of the kubeconfig under /clusters/<context>/, "
        "with /clusters listing them",
    )
    ops.add_argument(
        "-v",
        "--v",
        dest="verbosity",
        type=int,
        default=0,
        metavar="LEVEL",
        help="log verbosity: 0 warnings, 1-2 info, 3+ debug (default 0)",
    )
    ops.add_argument(
        "--event-loop",
        choices=EVENT_LOOPS,
        default=default_event_loop(),
        help="event loop to run on (default %(default)s: uvloop when installed)",
    )
    ops.add_argument(
        "--workers",
        type=parse_workers,
        default=1,
        metavar="N",
        help="processes serving the port (SO_REUSEPORT; Linux), each with its own upstream "
        "connections and credential refreshes (default 1)",
    )
    ops.add_argument("--version", action="version", version=f"kube-auth-proxy {__version__}")
    return parser


def config_from_args(args: argparse.Namespace, environ: dict[str, str]) -> ProxyConfig:
    """Options → Complete → Validate: a `ProxyConfig`, or a `ConfigError` naming the flag."""
    api_prefix = _slashed(args.api_prefix, "--api-prefix")
    www_prefix = _slashed(args.www_prefix, "--www-prefix")
    if args.www is not None and not args.www.is_dir():
        raise ConfigError(f"--www {args.www}: not a directory")
    filter_config = None
    if not args.disable_filter:
        filter_config = FilterConfig(
            accept_hosts=split_patterns(args.accept_hosts),
            accept_paths=split_patterns(args.accept_paths),
            reject_paths=split_patterns(args.reject_paths),
            reject_methods=split_patterns(args.reject_methods),
        )
    env_list = environ.get("KUBECONFIG", "")
    home = environ.get("HOME")
    return ProxyConfig(
        listen=ListenConfig(address=args.address, port=args.port, unix_socket=args.unix_socket),
        serve=ServeConfig(
            api_prefix=api_prefix,
            www_dir=args.www,
            www_prefix=www_prefix,
            append_server_path=args.append_server_path,
            keepalive=args.keepalive,
            filter=filter_config,
            ws_ping_interval=args.ws_ping_interval,
            watch_resume=args.watch_resume,
            max_watch_event_bytes=args.max_watch_event_bytes,
            cors=CorsConfig(allowed_origins=split_patterns(args.cors_allowed_origins),
                            allow_any_origin=args.insecure_allow_any_cors_origin),
        ),
        kubeconfig=KubeconfigSource(
            explicit_path=args.kubeconfig,
            env_paths=tuple(Path(p) for p in env_list.split(os.pathsep) if p),
            home_path=Path(home) / ".kube" / "config" if home else None,
            context=args.context,
            cluster=args.cluster,
            user=args.user,
            in_cluster=args.in_cluster,
            service_host=environ.get("KUBERNETES_SERVICE_HOST"),
            service_port=environ.get("KUBERNETES_SERVICE_PORT"),
            service_account_dir=args.service_account_dir,
        ),
        security=SecurityConfig(
            authn=args.authn,
            authn_audiences=tuple(args.authn_audiences),
            authn_cache_ttl=args.authn_cache_ttl,
            authn_review_qps=args.authn_review_qps,
            authn_review_burst=args.authn_review_burst,
            forward_as=args.forward_as,
            authz=args.authz,
            policy=args.policy,
            tls_cert_file=args.tls_cert_file,
            tls_private_key_file=args.tls_private_key_file,
            client_ca_file=args.client_ca_file,
            insecure_allow_unauthenticated=args.insecure_allow_unauthenticated,
            audit_log=args.audit_log,
        ),
        limits=LimitsConfig(
            max_header_bytes=args.max_header_bytes,
            max_headers=args.max_headers,
            max_body_bytes=args.max_body_bytes,
            idle_timeout=args.idle_timeout,
            header_timeout=args.header_timeout,
            max_requests_per_client=args.max_requests_per_client,
        ),
        operations=OperationsConfig(
            health_port=args.health_port,
            health_address=args.health_address,
            log_format=args.log_format,
            access_log=args.access_log,
            reload=args.reload,
            shutdown_grace=args.shutdown_grace,
            all_contexts=args.all_contexts,
        ),
        credentials=CredentialConfig(
            impersonate_user=args.as_user,
            impersonate_groups=tuple(args.as_groups),
            impersonate_uid=args.as_uid,
            token_request=args.token_request,
            token_audiences=tuple(args.token_audiences),
            token_expiration_seconds=int(args.token_expiration),
        ),
        runtime=_runtime_config(args),
    )


def _runtime_config(args: argparse.Namespace) -> RuntimeConfig:
    if args.event_loop == UVLOOP and default_event_loop() != UVLOOP:
        raise ConfigError("--event-loop uvloop: uvloop is not installed (pip install uvloop)")
    if args.workers > 1 and not hasattr(socket, "SO_REUSEPORT"):
        raise ConfigError("--workers: needs SO_REUSEPORT (Linux)")
    return RuntimeConfig(event_loop=args.event_loop, workers=args.workers)


def _slashed(prefix: str, option: str) -> str:
    if not prefix.startswith("/"):
        raise ConfigError(f"{option} {prefix!r}: must start with /")
    return prefix if prefix.endswith("/") else prefix + "/"


def parse_options(argv: Sequence[str] | None, environ: dict[str, str]) -> argparse.Namespace:
    """Flags over KUBE_AUTH_PROXY_* variables over the --config file over the defaults."""
    parser = build_parser()
    first = argparse.ArgumentParser(add_help=False)
    first.add_argument("--config", type=Path, default=None)
    known, _ = first.parse_known_args(argv)
    path = known.config or (
        Path(environ[CONFIG_VARIABLE]) if environ.get(CONFIG_VARIABLE) else None
    )
    file = read_config_file(path) if path is not None else {}
    apply_defaults(parser, file=file, file_name=str(path), environ=environ)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    environ = dict(os.environ)
    try:
        args = parse_options(argv, environ)
        config = config_from_args(args, environ)
        configure_logging(
            args.verbosity,
            log_format=config.operations.log_format,
            access_log=config.operations.access_log
            if config.operations.access_log is not None
            else args.verbosity >= 1,
        )
        return run(config)
    except ConfigError as exc:
        print(f"error: {redact(str(exc))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
