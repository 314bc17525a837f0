"""The upstream TLS context: a CA file rotated on disk is picked up; a bad one is not."""

from __future__ import annotations

import ssl
from pathlib import Path

import trustme

from proxy.credentials.client_cert import parse_client_certificate
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


def test_h2_twin_presents_the_same_certificate_and_is_kept() -> None:
    ca = trustme.CA()
    leaf = ca.issue_cert("alice")
    certificate = parse_client_certificate(
        leaf.cert_chain_pems[0].bytes(), leaf.private_key_pem.bytes(),
        file="k", cert_field="client-certificate-data", key_field="client-key-data",
    )
    tls = UpstreamTLS(ClusterConfig(
        name="c", file="k", server="https://x", certificate_authority_data=ca.cert_pem.bytes()
    ))
    http1 = tls.context_for(certificate)
    twin = tls.offering_h2(http1)
    assert twin is not http1 and tls.offering_h2(http1) is twin
    assert tls.offering_h2(tls.context_for(None)) is not twin, "per certificate"
    assert tls.context_for(certificate) is http1, "the HTTP/1.1 context is unchanged"
    foreign = ssl.create_default_context()
    assert tls.offering_h2(foreign) is foreign


def test_contexts_past_the_cap_drop_the_oldest_so_rotation_leaves_none_behind() -> None:
    ca = trustme.CA()
    tls = UpstreamTLS(
        ClusterConfig(
            name="c", file="k", server="https://x", certificate_authority_data=ca.cert_pem.bytes()
        ),
        max_contexts=2,
    )
    rotated = []
    for name in ("first", "second", "third"):
        leaf = ca.issue_cert(name)
        rotated.append(parse_client_certificate(
            leaf.cert_chain_pems[0].bytes(), leaf.private_key_pem.bytes(),
            file="k", cert_field="client-certificate-data", key_field="client-key-data",
        ))
    contexts = [tls.context_for(certificate) for certificate in rotated]
    assert len(tls._contexts) == 2
    assert tls.context_for(rotated[2]) is contexts[2], "the newest is kept"
    assert tls.offering_h2(contexts[0]) is not contexts[0], "a dropped one still has its twin"
    assert tls.context_for(rotated[0]) is not contexts[0], "the oldest was dropped, built anew"
    assert len(tls._contexts) == 2
