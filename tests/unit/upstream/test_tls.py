"""The upstream TLS context: a CA file rotated on disk is picked up; a bad one is not."""

from __future__ import annotations

import ssl
from pathlib import Path

import trustme

from proxy.kubeconfig.model import ClusterConfig
from proxy.upstream.tls import UpstreamTLS
from tests.conftest import FakeClock


def subjects(context: ssl.SSLContext) -> list[str]:
    return [str(cert["subject"]) for cert in context.get_ca_certs()]


def test_rotated_ca_file_reloaded(tmp_path: Path) -> None:
    old_ca, new_ca = trustme.CA(organization_name="old"), trustme.CA(organization_name="new")
    ca_file = tmp_path / "ca.crt"
    ca_file.write_bytes(old_ca.cert_pem.bytes())
    clock = FakeClock()
    tls = UpstreamTLS(
        ClusterConfig(name="c", file="k", server="https://x", certificate_authority=ca_file),
        clock=clock,
    )
    before = tls.context_for(None)
    assert "old" in subjects(before)[0]
    ca_file.write_bytes(new_ca.cert_pem.bytes())
    assert tls.context_for(None) is before, "looked at no more than every few seconds"
    clock.advance(11)
    after = tls.context_for(None)
    assert after is not before and "new" in subjects(after)[0]


def test_unparseable_rotated_ca_keeps_the_old_one(tmp_path: Path) -> None:
    ca = trustme.CA()
    ca_file = tmp_path / "ca.crt"
    ca_file.write_bytes(ca.cert_pem.bytes())
    clock = FakeClock()
    tls = UpstreamTLS(
        ClusterConfig(name="c", file="k", server="https://x", certificate_authority=ca_file),
        clock=clock,
    )
    before = tls.context_for(None)
    ca_file.write_bytes(b"-----BEGIN CERTIFICATE-----\nhalf written")
    clock.advance(11)
    assert tls.context_for(None) is before
