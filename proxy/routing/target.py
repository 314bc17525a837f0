"""The cluster the proxy serves, prepared once at start-up: context, credential, TLS, upstream."""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass

from proxy.config import CredentialConfig, KubeconfigSource, ServeConfig
from proxy.credentials import build_credential_source
from proxy.credentials.base import Clock, monotonic
from proxy.credentials.impersonation import impersonation_headers
from proxy.credentials.refreshing import RefreshingSource, wall_clock
from proxy.credentials.token_request import TokenRequestConfig, TokenRequester
from proxy.errors import NoKubeconfigError
from proxy.kubeconfig import ResolvedContext, load_kubeconfig, resolve_context
from proxy.kubeconfig.in_cluster import InClusterSource, in_cluster_context
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
    upstream = Upstream(
        cluster=context.cluster,
        credentials=build_credential_source(context, clock=clock, wall=wall),
        tls=UpstreamTLS(context.cluster, clock=clock),
        identity_headers=impersonation_headers(context.user),
        append_server_path=serve.append_server_path,
        connect_timeout=serve.connect_timeout,
        keepalive=serve.keepalive,
    )
    if options.token_request:
        config = TokenRequestConfig.parse(
            options.token_request,
            audiences=options.token_audiences,
            expiration_seconds=options.token_expiration_seconds,
        )
        requester = TokenRequester(
            config, identity=upstream.credentials, call=upstream.request_json, clock=wall
        )
        upstream.credentials = RefreshingSource(
            kind="token-request", fetch=requester.request, clock=wall
        )
    return Target(context=context, upstream=upstream)


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
