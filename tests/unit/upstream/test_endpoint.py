"""The upstream base URL: scheme defaulting as client-go, the server path kept or dropped."""

from __future__ import annotations

import pytest

from proxy.kubeconfig.model import ClusterConfig
from proxy.upstream.endpoint import upstream_base_url


def cluster(server: str, **fields: object) -> ClusterConfig:
    return ClusterConfig(name="c", file="k", server=server, **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("server", "append", "base"),
    [
        ("https://api.example:6443", True, "https://api.example:6443"),
        ("https://api.example:6443/", True, "https://api.example:6443"),
        (
            "https://rancher.example/k8s/clusters/c-1/",
            True,
            "https://rancher.example/k8s/clusters/c-1",
        ),
        ("https://rancher.example/k8s/clusters/c-1", False, "https://rancher.example"),
        ("https://[::1]:6443", True, "https://[::1]:6443"),
        ("https://api.example/a%2Fb", True, "https://api.example/a%2Fb"),
    ],
)
def test_base_url(server: str, append: bool, base: str) -> None:
    assert upstream_base_url(cluster(server), append_server_path=append) == base


def test_scheme_defaults_to_https_when_tls_is_configured() -> None:
    with_ca = cluster("api.example:6443", certificate_authority_data=b"x")
    assert upstream_base_url(with_ca, append_server_path=True) == "https://api.example:6443"
    assert upstream_base_url(cluster("api.example:8080"), append_server_path=True) == (
        "http://api.example:8080"
    )
