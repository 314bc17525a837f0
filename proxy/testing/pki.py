"""Certificates for the fake API server: its CA, its serving cert, and client certs.

Client certificates follow the apiserver's x509 authenticator: CN is the user name
and every O is a group, so a proxy presenting one is seen as that user.
"""

from __future__ import annotations

import datetime
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DEFAULT_SERVER_HOSTNAMES: tuple[str, ...] = ("127.0.0.1", "localhost", "fake-apiserver.test")
CLIENT_CERT_LIFETIME = datetime.timedelta(days=1)


@dataclass(frozen=True)
class CertIdentity:
    """Who a verified client certificate says it is."""

    user: str
    groups: tuple[str, ...]


def issue_client_cert(ca: trustme.CA, user: str, *, groups: Sequence[str] = ()) -> trustme.LeafCert:
    """Sign a clientAuth certificate with CN=user and one O per group.

    trustme allows a single O only, so the certificate is built here.
    """
    ca_key = serialization.load_pem_private_key(ca.private_key_pem.bytes(), password=None)
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise TypeError(f"unsupported CA key type {type(ca_key).__name__}")
    ca_cert = x509.load_pem_x509_certificate(ca.cert_pem.bytes())
    key = ec.generate_private_key(ec.SECP256R1())
    attributes = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, group) for group in groups]
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, user))
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name(attributes))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + CLIENT_CERT_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return trustme.LeafCert(key_pem, cert.public_bytes(serialization.Encoding.PEM), [])


def build_server_ssl_context(ca: trustme.CA, *, hostnames: Sequence[str]) -> ssl.SSLContext:
    """TLS for the server: a cert for `hostnames`; client certs optional but verified."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*hostnames).configure_cert(context)
    ca.configure_trust(context)
    context.verify_mode = ssl.CERT_OPTIONAL
    context.set_alpn_protocols(["http/1.1"])
    return context


def identity_from_peercert(peercert: Any) -> CertIdentity | None:
    """Read CN/O from `SSLSocket.getpeercert()`; None when no verified cert was sent."""
    if not isinstance(peercert, dict):
        return None
    user: str | None = None
    groups: list[str] = []
    for rdn in peercert.get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                user = value
            elif key == "organizationName":
                groups.append(value)
    if not user:
        return None
    return CertIdentity(user=user, groups=tuple(groups))
