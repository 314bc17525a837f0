"""A fake kube-apiserver (TLS, auth, CRUD, watch, discovery, OpenAPI) for tests, demo and bench."""

from proxy.testing.kubeconfig import write_kubeconfig
from proxy.testing.recording import RecordedRequest
from proxy.testing.server import FakeAPIServer
from proxy.testing.store import Store

__all__ = ["FakeAPIServer", "RecordedRequest", "Store", "write_kubeconfig"]
