"""In a pod: the API server from the service environment, credentials from the service account.

As client-go's InClusterConfig: `https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT`,
the CA and the (projected, rotated) token from the service-account folder. The token
is a `tokenFile`, so it is re-read as the kubelet rotates it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from proxy.errors import KubeconfigError
from proxy.kubeconfig.model import ClusterConfig, ResolvedContext, UserConfig

SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")


@dataclass(frozen=True)
class InClusterSource:
    host: str | None
    port: str | None
    service_account_dir: Path = SERVICE_ACCOUNT_DIR

    @property
    def available(self) -> bool:
        return bool(self.host and self.port)


def in_cluster_context(source: InClusterSource) -> ResolvedContext:
    if not source.available:
        raise KubeconfigError(
            "not running in a pod: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT "
            "must be set for --in-cluster"
        )
    folder = source.service_account_dir
    token = folder / "token"
    if not token.is_file():
        raise KubeconfigError(
            "no service-account token: is automountServiceAccountToken off for this pod?",
            file=str(token),
        )
    host = source.host or ""
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    where = f"in-cluster ({folder})"
    ca = folder / "ca.crt"
    namespace_file = folder / "namespace"
    namespace = namespace_file.read_text().strip() if namespace_file.is_file() else None
    return ResolvedContext(
        context=None,
        cluster=ClusterConfig(
            name="in-cluster", file=where, server=f"https://{host}:{source.port}",
            certificate_authority=ca if ca.is_file() else None,
        ),
        user=UserConfig(name="service-account", file=where, token_file=token),
        namespace=namespace,
    )
