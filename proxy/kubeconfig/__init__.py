"""Reading kubeconfig files: the model, the loader, and the selected context."""

from proxy.kubeconfig.loader import load_kubeconfig, resolve_context
from proxy.kubeconfig.model import ClusterConfig, Kubeconfig, ResolvedContext, UserConfig

__all__ = [
    "ClusterConfig",
    "Kubeconfig",
    "ResolvedContext",
    "UserConfig",
    "load_kubeconfig",
    "resolve_context",
]
