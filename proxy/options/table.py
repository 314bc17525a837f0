"""Every option, declared once, in `--help` order.

The flags, their spellings and defaults are kubectl proxy's where it has them; `proxy.cli`
makes the parser and the `ProxyConfig` from this table, `sources` the config file and
KUBE_AUTH_PROXY_* variables, `example` config/kube-auth-proxy.example.yaml.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import get_args

from proxy.config import (
    DEFAULT_ADDRESS,
    DEFAULT_API_PREFIX,
    DEFAULT_AUTHN_REVIEW_BURST,
    DEFAULT_AUTHN_REVIEW_QPS,
    DEFAULT_HOST_ACCEPT_RE,
    DEFAULT_MAX_EVENT_BYTES,
    DEFAULT_METHOD_REJECT_RE,
    DEFAULT_PATH_ACCEPT_RE,
    DEFAULT_PATH_REJECT_RE,
    DEFAULT_PORT,
    DEFAULT_WS_PING_INTERVAL,
    DEFAULT_WWW_PREFIX,
    AuthnMode,
    AuthzMode,
    CredentialConfig,
    EventLoop,
    ForwardAs,
    LimitsConfig,
    LogFormat,
    OperationsConfig,
    SecurityConfig,
    ServeConfig,
    UpstreamProtocol,
    split_patterns,
)
from proxy.kubeconfig.in_cluster import SERVICE_ACCOUNT_DIR
from proxy.options.option import Option
from proxy.options.values import (
    Refused,
    existing_directory,
    int_in_range,
    non_negative_float,
    non_negative_int,
    parse_duration,
    parse_port,
    positive_int,
    slashed,
    whole_seconds,
)
from proxy.serving.eventloop import UVLOOP, default_event_loop
from proxy.serving.workers import MAX_WORKERS

KUBECTL = "kubectl proxy's flags (same names, same defaults)"
KUBECONFIG = "kubeconfig"
CREDENTIALS = "credentials"
WATCH = "watch and upgrades"
LISTENER = "listener"
SECURITY = "security"
OPERATIONS = "operations"


def installed_event_loop(name: str) -> str:
    if name == UVLOOP and default_event_loop() != UVLOOP:
        raise Refused("uvloop is not installed (pip install uvloop)")
    return name


def supported_workers(count: int) -> int:
    if count > 1 and not hasattr(socket, "SO_REUSEPORT"):
        raise Refused("more than 1 needs SO_REUSEPORT (Linux)")
    return count


OPTIONS: tuple[Option, ...] = (
    Option("--port", aliases=("-p",), group=KUBECTL, fills="listen.port",
           parse=parse_port, default=DEFAULT_PORT,
           help="port to listen on; 0 picks a free one (default %(default)s)"),
    Option("--address", group=KUBECTL, fills="listen.address", default=DEFAULT_ADDRESS,
           help="IP address to listen on (default %(default)s)"),
    Option("--unix-socket", aliases=("-u",), group=KUBECTL, fills="listen.unix_socket",
           parse=Path, metavar="PATH",
           help="listen on this unix socket (mode 0600) instead of TCP"),
    Option("--api-prefix", group=KUBECTL, fills="serve.api_prefix", default=DEFAULT_API_PREFIX,
           accept=slashed, help="prefix to serve the proxied API under (default %(default)s)"),
    Option("--www", aliases=("-w",), group=KUBECTL, fills="serve.www_dir",
           parse=Path, metavar="DIR", accept=existing_directory,
           help="also serve static files from this directory under --www-prefix"),
    Option("--www-prefix", aliases=("-P",), group=KUBECTL, fills="serve.www_prefix",
           default=DEFAULT_WWW_PREFIX, accept=slashed,
           help="prefix to serve static files under (default %(default)s)"),
    Option("--append-server-path", group=KUBECTL, fills="serve.append_server_path",
           form="bool", default=ServeConfig.append_server_path,
           help="keep the kubeconfig server URL's path in front of each request path "
           "(default true; kubectl proxy's default is false)"),
    Option("--keepalive", group=KUBECTL, fills="serve.keepalive",
           parse=parse_duration, default=ServeConfig.keepalive, metavar="DURATION",
           help="TCP keep-alive period for upstream connections; 0 disables it"),
    Option("--accept-hosts", group=KUBECTL, fills="filter.accept_hosts",
           default=DEFAULT_HOST_ACCEPT_RE, metavar="REGEXES", accept=split_patterns,
           help="comma-separated regular expressions of Host names to accept "
           "(default %(default)s)"),
    Option("--accept-paths", group=KUBECTL, fills="filter.accept_paths",
           default=DEFAULT_PATH_ACCEPT_RE, metavar="REGEXES", accept=split_patterns,
           help="regular expressions of paths to accept (default %(default)s)"),
    Option("--reject-paths", group=KUBECTL, fills="filter.reject_paths",
           default=DEFAULT_PATH_REJECT_RE, metavar="REGEXES", accept=split_patterns,
           help="regular expressions of paths to reject (default %(default)s)"),
    Option("--reject-methods", group=KUBECTL, fills="filter.reject_methods",
           default=DEFAULT_METHOD_REJECT_RE, metavar="REGEXES", accept=split_patterns,
           help="regular expressions of HTTP methods to reject (default %(default)s: none)"),
    Option("--disable-filter", group=KUBECTL, fills=None, form="bool", default=False,
           help="serve every host, path and method: dangerous, opens the proxy to XSRF"),

    Option("--kubeconfig", group=KUBECONFIG, fills="kubeconfig.explicit_path",
           parse=Path, metavar="FILE",
           help="kubeconfig file to use (default: $KUBECONFIG, then ~/.kube/config)"),
    Option("--context", group=KUBECONFIG, fills="kubeconfig.context",
           help="kubeconfig context to use"),
    Option("--cluster", group=KUBECONFIG, fills="kubeconfig.cluster",
           help="kubeconfig cluster to use"),
    Option("--user", group=KUBECONFIG, fills="kubeconfig.user", help="kubeconfig user to use"),
    Option("--in-cluster", group=KUBECONFIG, fills="kubeconfig.in_cluster", form="switch",
           default=False,
           help="use the pod's service account even if a kubeconfig exists "
           "(without a kubeconfig it is used whenever KUBERNETES_SERVICE_HOST is set)"),
    Option("--service-account-dir", group=KUBECONFIG, fills="kubeconfig.service_account_dir",
           parse=Path, default=SERVICE_ACCOUNT_DIR, metavar="DIR",
           help="where the service account's token, ca.crt and namespace are "
           "(default %(default)s)"),

    Option("--as", group=CREDENTIALS, fills="credentials.impersonate_user",
           dest="as_user", metavar="USER",
           help="impersonate this user upstream (overrides the kubeconfig's `as`)"),
    Option("--as-group", group=CREDENTIALS, fills="credentials.impersonate_groups",
           form="list", default=(), dest="as_groups", metavar="GROUP",
           help="impersonate this group; repeatable"),
    Option("--as-uid", group=CREDENTIALS, fills="credentials.impersonate_uid",
           metavar="UID", help="impersonate this UID"),
    Option("--token-request", group=CREDENTIALS, fills="credentials.token_request",
           metavar="NAMESPACE/SERVICEACCOUNT",
           help="act with a short-lived token for this service account, obtained "
           "with the kubeconfig's identity (TokenRequest): least privilege"),
    Option("--token-audience", group=CREDENTIALS, fills="credentials.token_audiences",
           form="list", default=(), dest="token_audiences", metavar="AUDIENCE",
           help="audience of the requested token; repeatable"),
    Option("--token-expiration", group=CREDENTIALS, fills="credentials.token_expiration_seconds",
           parse=parse_duration, default=float(CredentialConfig.token_expiration_seconds),
           metavar="DURATION", accept=whole_seconds,
           help="lifetime to ask for (default 1h; renewed at "
           "80%% of the lifetime the API server grants)"),

    Option("--ws-ping-interval", group=WATCH, fills="serve.ws_ping_interval",
           parse=parse_duration, default=DEFAULT_WS_PING_INTERVAL, metavar="DURATION",
           help="ping WebSocket watches this often so idle ones survive load balancers "
           "(default 30s; 0 disables)"),
    Option("--watch-resume", group=WATCH, fills="serve.watch_resume", form="bool",
           default=ServeConfig.watch_resume,
           help="resume chunked watches the API server ends, as WebSocket watches always are"),
    Option("--max-watch-event-bytes", group=WATCH, fills="serve.max_watch_event_bytes",
           parse=non_negative_int, default=DEFAULT_MAX_EVENT_BYTES, metavar="BYTES",
           help="largest watch event held while framing a WebSocket or resumed watch; a larger "
           "one ends the watch with an ERROR event (default 16777216; 0: no limit)"),

    Option("--tls-cert-file", group=LISTENER, fills="security.tls_cert_file",
           parse=Path, metavar="FILE",
           help="serve HTTPS with this certificate (reloaded when it changes)"),
    Option("--tls-private-key-file", group=LISTENER, fills="security.tls_private_key_file",
           parse=Path, metavar="FILE", help="the key of --tls-cert-file"),
    Option("--client-ca-file", group=LISTENER, fills="security.client_ca_file",
           parse=Path, metavar="FILE", help="verify client certificates against this CA"),
    Option("--max-header-bytes", group=LISTENER, fills="limits.max_header_bytes",
           parse=positive_int, default=LimitsConfig.max_header_bytes, metavar="BYTES",
           help="longest request line or header (default 65536)"),
    Option("--max-headers", group=LISTENER, fills="limits.max_headers",
           parse=positive_int, default=LimitsConfig.max_headers, metavar="N",
           help="most request headers (default 128)"),
    Option("--max-body-bytes", group=LISTENER, fills="limits.max_body_bytes",
           parse=int, default=LimitsConfig.max_body_bytes, metavar="BYTES",
           help="largest request body, as the kube-apiserver's (default 3145728; 0: no limit)"),
    Option("--idle-timeout", group=LISTENER, fills="limits.idle_timeout",
           parse=parse_duration, default=LimitsConfig.idle_timeout, metavar="DURATION",
           help="close idle keep-alive connections after this (default 2m)"),
    Option("--header-timeout", group=LISTENER, fills="limits.header_timeout",
           parse=parse_duration, default=LimitsConfig.header_timeout, metavar="DURATION",
           help="how long a request head may take to arrive, from the connection's opening "
           "(one that sends nothing is closed then) or, on a kept-alive connection, from "
           "the head's first byte (slowloris; default 10s)"),
    Option("--max-requests-per-client", group=LISTENER, fills="limits.max_requests_per_client",
           parse=int, default=LimitsConfig.max_requests_per_client, metavar="N",
           help="concurrent requests per client address, watches included "
           "(default: 512 when reachable from other hosts, none on loopback; 0: no limit)"),

    Option("--authn", group=SECURITY, fills="security.authn",
           choices=get_args(AuthnMode), default=SecurityConfig.authn,
           help="authenticate callers: tokenreview (each presents its own bearer "
           "token) or client-cert (CN user, O groups); default none"),
    Option("--authn-audiences", group=SECURITY, fills="security.authn_audiences",
           form="list", default=(), metavar="AUDIENCE",
           help="TokenReview audiences the caller's token must be for; repeatable"),
    Option("--authn-cache-ttl", group=SECURITY, fills="security.authn_cache_ttl",
           parse=parse_duration, default=SecurityConfig.authn_cache_ttl, metavar="DURATION",
           help="how long a positive TokenReview is cached (default 2m)"),
    Option("--authn-review-qps", group=SECURITY, fills="security.authn_review_qps",
           parse=non_negative_float, default=DEFAULT_AUTHN_REVIEW_QPS, metavar="N",
           help="TokenReviews per second for tokens not in the cache, per client address; "
           "beyond it 429 (default 10; 0: no limit)"),
    Option("--authn-review-burst", group=SECURITY, fills="security.authn_review_burst",
           parse=positive_int, default=DEFAULT_AUTHN_REVIEW_BURST, metavar="N",
           help="TokenReviews a client address may make at once before --authn-review-qps "
           "applies (default 20)"),
    Option("--forward-as", group=SECURITY, fills="security.forward_as",
           choices=get_args(ForwardAs), default=SecurityConfig.forward_as,
           help="who acts upstream: the proxy's credential (default), or the "
           "authenticated caller, impersonated"),
    Option("--authz", group=SECURITY, fills="security.authz",
           choices=get_args(AuthzMode), default=SecurityConfig.authz,
           help="authorize each request with a SubjectAccessReview for the caller"),
    Option("--policy", group=SECURITY, fills="security.policy", parse=Path, metavar="FILE",
           help="authorize with this static policy instead (config/policy.example.yaml)"),
    Option("--insecure-allow-unauthenticated", group=SECURITY,
           fills="security.insecure_allow_unauthenticated", form="switch", default=False,
           help="listen beyond loopback without authenticating callers (anyone "
           "who reaches the port acts with the proxy's credentials)"),
    Option("--cors-allowed-origins", group=SECURITY, fills="cors.allowed_origins",
           default="", metavar="REGEXES", accept=split_patterns,
           help="comma-separated regular expressions of the origins of web pages that may call "
           "the proxy from a browser (CORS, and WebSocket watches); each must match the whole "
           "Origin, e.g. ^https://dash\\.example\\.com$ (default: none)"),
    Option("--insecure-allow-any-cors-origin", group=SECURITY, fills="cors.allow_any_origin",
           form="switch", default=False,
           help="accept --cors-allowed-origins expressions that let any web site in (.*, "
           "https?://.*, null): every page a user opens could then use the proxy"),
    Option("--audit-log", group=SECURITY, fills="security.audit_log", parse=Path, metavar="FILE",
           help="write one JSON line per request here ('-' for standard output)"),

    Option("--config", group=OPERATIONS, fills=None, parse=Path, metavar="FILE",
           help="read options from this YAML file (config/kube-auth-proxy.example."
           "yaml lists them all); flags and KUBE_AUTH_PROXY_* variables override it"),
    Option("--health-port", group=OPERATIONS, fills="operations.health_port",
           parse=parse_port, metavar="PORT",
           help="also serve /healthz, /livez, /readyz and /metrics on this port "
           "(for probes); the main port serves them under /-/ anyway"),
    Option("--health-address", group=OPERATIONS, fills="operations.health_address",
           default=DEFAULT_ADDRESS, metavar="ADDRESS",
           help="address of --health-port (default %(default)s; 0.0.0.0 in a pod, "
           "where the kubelet probes the pod's IP)"),
    Option("--log-format", group=OPERATIONS, fills="operations.log_format",
           choices=get_args(LogFormat), default=OperationsConfig.log_format,
           help="log lines as text (default) or one JSON object each"),
    Option("--access-log", group=OPERATIONS, fills="operations.access_log", form="bool",
           default=OperationsConfig.access_log,
           help="log one line per request (default: with -v 1 or more)"),
    Option("--reload", group=OPERATIONS, fills="operations.reload", form="bool",
           default=OperationsConfig.reload,
           help="re-read the kubeconfig when it changes (default true; SIGHUP always does)"),
    Option("--shutdown-grace", group=OPERATIONS, fills="operations.shutdown_grace",
           parse=parse_duration, default=OperationsConfig.shutdown_grace, metavar="DURATION",
           help="on SIGTERM, how long requests in flight may take to finish (default "
           "10s); watches are ended at once, cleanly"),
    Option("--all-contexts", group=OPERATIONS, fills="operations.all_contexts", form="switch",
           default=False,
           help="serve every context of the kubeconfig under /clusters/<context>/, "
           "with /clusters listing them"),
    Option("--v", aliases=("-v",), group=OPERATIONS, fills=None, parse=int, default=0,
           dest="verbosity", metavar="LEVEL",
           help="log verbosity: 0 warnings, 1-2 info, 3+ debug (default 0)"),
    Option("--event-loop", group=OPERATIONS, fills="runtime.event_loop",
           choices=get_args(EventLoop), default=default_event_loop(),
           accept=installed_event_loop,
           help="event loop to run on (default %(default)s: uvloop when installed)"),
    Option("--upstream-protocol", group=OPERATIONS, fills="serve.upstream_protocol",
           choices=get_args(UpstreamProtocol), default=ServeConfig.upstream_protocol,
           help="HTTP version spoken to the API server: http1, http2, or auto (default "
           "%(default)s: the proxy chooses, for requests and for watches and followed logs "
           "apart; -v 1 logs the choice)"),
    Option("--workers", group=OPERATIONS, fills="runtime.workers",
           parse=int_in_range(1, MAX_WORKERS, what="worker count", form=f"1-{MAX_WORKERS}"),
           default=1, metavar="N", accept=supported_workers,
           help="processes serving the port (SO_REUSEPORT; Linux), each with its own upstream "
           "connections and credential refreshes (default 1)"),
)
