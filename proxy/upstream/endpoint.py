"""Where the API server is: the kubeconfig's `server` read once into what transports need."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from yarl import URL

from proxy.errors import KubeconfigError
from proxy.kubeconfig.model import ClusterConfig


def upstream_base_url(cluster: ClusterConfig, *, append_server_path: bool) -> str:
    """`scheme://host:port[/prefix]` with no trailing slash; raw request paths are appended."""
    server = cluster.server
    if "://" not in server:
        # client-go's DefaultServerURL: https when anything about TLS is configured.
        tls = bool(
            cluster.certificate_authority
            or cluster.certificate_authority_data
            or cluster.insecure_skip_tls_verify
        )
        server = ("https://" if tls else "http://") + server
    try:
        url = URL(server, encoded=True)
        valid = url.scheme in ("http", "https") and bool(url.host)
    except ValueError:
        valid = False
    if not valid:
        raise KubeconfigError(
            f"not an http(s) URL: {cluster.server!r}",
            file=cluster.file,
            field=cluster.field_name("server"),
        )
    base = f"{url.scheme}://{url.raw_authority}"
    if append_server_path:
        base += url.raw_path.rstrip("/")
    return base


@dataclass(frozen=True)
class Endpoint:
    """One API server as a transport connects to it; `base_url` is `upstream_base_url`'s."""

    base_url: str
    tls_server_name: str | None = None  # the kubeconfig's tls-server-name, if any

    @cached_property
    def url(self) -> URL:
        return URL(self.base_url, encoded=True)

    @property
    def secure(self) -> bool:
        return self.url.scheme == "https"

    @property
    def origin(self) -> str:
        """`scheme://authority`, to which a request target is appended."""
        return f"{self.url.scheme}://{self.url.raw_authority}"

    @property
    def host(self) -> str:
        host = self.url.host
        assert host is not None, "upstream_base_url checked it"
        return host

    @property
    def port(self) -> int:
        port = self.url.port
        assert port is not None, "http(s) has a default port"
        return port

    @property
    def authority(self) -> str:
        """For the `Host` header: as the kubeconfig wrote it."""
        return self.url.raw_authority

    @property
    def where(self) -> str:
        """`host:port`, as failures name the API server."""
        return f"{self.host}:{self.port}"

    def target(self, raw_path: str) -> str:
        """The request target for a raw path and query: the server's path prefix, the path and
        the query as the client sent them (nothing decoded or re-encoded), any fragment dropped."""
        return URL(self.base_url + raw_path, encoded=True).raw_path_qs
