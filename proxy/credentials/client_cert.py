"""Client certificates from a kubeconfig user: read, parse, and check the key belongs."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from proxy.credentials.base import ClientCertificate
from proxy.errors import KubeconfigError
from proxy.kubeconfig.model import UserConfig

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

log = logging.getLogger(__name__)


def read_material(data: bytes | None, path: Path | None, *, file: str, field: str) -> bytes:
    """The bytes of a `*-data` field, or of the file the sibling field names."""
    if data is not None:
        return data
    assert path is not None
    try:
        return path.read_bytes()
    except OSError as exc:
        reason = exc.strerror.lower() if exc.strerror else type(exc).__name__
        raise KubeconfigError(f"cannot read {path}: {reason}", file=file, field=field) from None


def load_client_certificate(
    user: UserConfig, *, now: dt.datetime | None = None
) -> ClientCertificate | None:
    """The user's client certificate, or None. Errors name the kubeconfig file and field."""
    if not user.has_client_certificate:
        return None
    cert_field = user.field_name(
        "client-certificate-data" if user.client_certificate_data else "client-certificate"
    )
    key_field = user.field_name("client-key-data" if user.client_key_data else "client-key")
    cert_pem = read_material(
        user.client_certificate_data, user.client_certificate, file=user.file, field=cert_field
    )
    key_pem = read_material(user.client_key_data, user.client_key, file=user.file, field=key_field)
    return parse_client_certificate(
        cert_pem, key_pem, file=user.file, cert_field=cert_field, key_field=key_field, now=now
    )


def parse_client_certificate(
    cert_pem: bytes,
    key_pem: bytes,
    *,
    file: str,
    cert_field: str,
    key_field: str,
    now: dt.datetime | None = None,
) -> ClientCertificate:
    """Parse and cross-check a PEM certificate (chain) and key; warn when it has expired."""
    # Imported here: cryptography costs start-up time a user without a certificate never needs.
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization

    try:
        chain = x509.load_pem_x509_certificates(cert_pem)
    except ValueError:
        raise KubeconfigError(
            "not a PEM certificate (expected -----BEGIN CERTIFICATE-----)",
            file=file,
            field=cert_field,
        ) from None
    leaf = chain[0]
    try:
        key: PrivateKeyTypes = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError):
        # The message names no bytes of the key.
        raise KubeconfigError(
            "not an unencrypted PEM private key", file=file, field=key_field
        ) from None
    if key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ) != leaf.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ):
        raise KubeconfigError(
            "the private key does not match the client certificate", file=file, field=key_field
        )
    not_after = leaf.not_valid_after_utc
    subject = leaf.subject.rfc4514_string()
    if not_after <= (now or dt.datetime.now(dt.UTC)):
        log.warning(
            "%s: %s: the client certificate (%s) expired on %s; the API server will refuse it",
            file,
            cert_field,
            subject,
            not_after.isoformat(),
        )
    return ClientCertificate(
        cert_pem=cert_pem,
        key_pem=key_pem,
        fingerprint=leaf.fingerprint(hashes.SHA256()).hex(),
        subject=subject,
        not_after=not_after,
    )
