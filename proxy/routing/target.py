"""The cluster the proxy serves, prepared once at start-up: context, credential, TLS, upstream."""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from typing import Any

from proxy.clock import Clock, monotonic
from proxy.config import CredentialConfig, KubeconfigSource, ServeConfig
from proxy.credentials import build_credential_source
from proxy.credentials.base import CredentialSource
from proxy.credentials.impersonation import impersonation_headers
from proxy.credentials.refreshing import RefreshingSource, wall_clock
from proxy.errors import NoKubeconfigError
from proxy.kubeconfig import ResolvedContext, load_kubeconfig, resolve_context
from proxy.kubeconfig.in_cluster import InClusterSource, in_cluster_context
from proxy.upstream.auth import AuthPolicy
from proxy.upstream.choice import choose_transports
from proxy.upstream.dialer import StreamDialer
from proxy.upstream.endpoint import Endpoint, upstream_base_url
from proxy.upstream.session import Upstream
from proxy.upstream.tls import UpstreamTLS

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Target:
    """The cluster the proxy serves, with the context it was chosen from."""

    context: ResolvedContext
    upstream: Upstream


def select_context(source: KubeconfigSource) -> ResolvedContext:
    """The kubeconfig's context; in a pod without one (or --in-cluster), the service account."""
    in_cluster = InClusterSource(
        host=source.service_host, port=source.service_port,
        service_account_dir=source.service_account_dir,
    )
    if source.in_cluster:
        return in_cluster_context(in_cluster)
    try:
        return resolve_context(load_kubeconfig(source), source)
    except NoKubeconfigError:
        if not in_cluster.available:
            raise
    log.info("no kubeconfig: using the pod's service account in %s", source.service_account_dir)
    return in_cluster_context(in_cluster)


def build_target(
    source: KubeconfigSource,
    serve: ServeConfig,
    credentials: CredentialConfig | None = None,
    *,
    clock: Clock = monotonic,
    wall: Clock = wall_clock,
) -> Target:
    """Every problem with the kubeconfig or the credential surfaces here, before listening.

    `clock` paces file re-reads (token files, certificates, the CA); `wall` is
    compared with expiry times. Tests pass fakes for both.
    """
    options = credentials or CredentialConfig()
    context = with_impersonation(select_context(source), options)
    identity = build_credential_source(context, clock=clock, wall=wall)
    forwarded: CredentialSource = identity
    if options.token_request:
        from proxy.credentials.token_request import TokenRequestConfig, TokenRequester

        config = TokenRequestConfig.parse(
            options.token_request,
            audiences=options.token_audiences,
            expiration_seconds=options.token_expiration_seconds,
        )

        async def call(method: str, path: str, body: Any, as_: CredentialSource
                       ) -> tuple[int, Any]:
            # Bound late: the upstream below is the one this credential is for.
            return await upstream.request_json(method, path, body, as_)

        requester = TokenRequester(config, identity=identity, call=call, clock=wall)
        forwarded = RefreshingSource(kind="token-request", fetch=requester.request, clock=wall)
    upstream = build_upstream(context, forwarded, serve, clock=clock)
    return Target(context=context, upstream=upstream)


def build_upstream(
    context: ResolvedContext, credentials: CredentialSource, serve: ServeConfig, *, clock: Clock
) -> Upstream:
    """The upstream of one cluster: its endpoint, the transports `--upstream-protocol` chose
    and the upgrade dialer, and the policy that puts `credentials` on every request."""
    cluster = context.cluster
    tls = UpstreamTLS(cluster, clock=clock)
    endpoint = Endpoint(
        upstream_base_url(cluster, append_server_path=serve.append_server_path),
        tls_server_name=cluster.tls_server_name,
    )
    if not endpoint.secure:
        log.warning(
            "%s: %s is plain http: credentials cross the network unencrypted",
            cluster.file,
            cluster.field_name("server"),
        )
    transports = choose_transports(
        serve.upstream_protocol,
        endpoint,
        connect_timeout=serve.connect_timeout,
        keepalive=serve.keepalive,
        h2_context=tls.offering_h2 if endpoint.secure else None,
    )
    upstream = Upstream(
        endpoint=endpoint,
        transport=transports.rest,
        stream_transport=transports.stream,
        owned=transports.owned,
        dialer=StreamDialer(
            endpoint, connect_timeout=serve.connect_timeout, keepalive=serve.keepalive
        ),
        auth=AuthPolicy(
            credentials,
            tls=tls if endpoint.secure else None,
            identity_headers=impersonation_headers(context.user),
        ),
    )
    names = upstream.transport_names
    log.info(
        "cluster %s (%s): requests over %s, watches and followed logs over %s",
        cluster.name, endpoint.origin, names["rest"], names["stream"],
    )
    return upstream


def with_impersonation(context: ResolvedContext, options: CredentialConfig) -> ResolvedContext:
    """`--as`, `--as-group`, `--as-uid` override the kubeconfig's, field by field, as in kubectl."""
    changes: dict[str, object] = {}
    if options.impersonate_user:
        changes["impersonate"] = options.impersonate_user
    if options.impersonate_groups:
        changes["impersonate_groups"] = options.impersonate_groups
    if options.impersonate_uid:
        changes["impersonate_uid"] = options.impersonate_uid
    if not changes:
        return context
    return dataclasses.replace(context, user=dataclasses.replace(context.user, **changes))  # type: ignore[arg-type]
