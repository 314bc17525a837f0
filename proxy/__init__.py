"""kube-auth-proxy: an authenticating reverse proxy for the Kubernetes REST API."""

__version__ = "0.1.0"
