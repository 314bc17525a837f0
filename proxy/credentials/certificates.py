"""Where a client certificate comes from: fixed bytes, or files reloaded when they change."""

from __future__ import annotations

import logging
from typing import Protocol

from proxy.credentials.base import ClientCertificate
from proxy.credentials.client_cert import parse_client_certificate
from proxy.errors import KubeconfigError
from proxy.files import WatchedFile

log = logging.getLogger(__name__)


class CertificateProvider(Protocol):
    """The client certificate to present now. Cheap: called for every upstream request."""

    def current(self) -> ClientCertificate: ...


class FixedCertificate:
    def __init__(self, certificate: ClientCertificate):
        self._certificate = certificate

    def current(self) -> ClientCertificate:
        return self._certificate


class CertificateFiles:
    """`client-certificate` and `client-key` files, reloaded when either changes on disk.

    A pair that fails to parse (a half-written rotation) keeps the last good
    pair in use and is looked at again on the next check.
    """

    def __init__(
        self,
        certificate: ClientCertificate,
        *,
        cert_file: WatchedFile,
        key_file: WatchedFile,
        file: str,
        cert_field: str,
        key_field: str,
    ):
        self._certificate = certificate
        self._cert_file = cert_file
        self._key_file = key_file
        self._where = (file, cert_field, key_field)

    def current(self) -> ClientCertificate:
        try:
            cert_changed = self._cert_file.changed()
            key_changed = self._key_file.changed()
        except OSError as exc:
            log.warning("client certificate files: %s; keeping the one loaded", exc)
            return self._certificate
        if cert_changed is None and key_changed is None:
            return self._certificate
        file, cert_field, key_field = self._where
        try:
            fresh = parse_client_certificate(
                self._cert_file.content or b"", self._key_file.content or b"",
                file=file, cert_field=cert_field, key_field=key_field,
            )
        except KubeconfigError as exc:
            log.warning("reloading the client certificate: %s; keeping the one loaded", exc)
            return self._certificate
        if fresh.fingerprint != self._certificate.fingerprint:
            log.info("client certificate reloaded: %s, valid until %s",
                     fresh.subject, fresh.not_after.isoformat())
        self._certificate = fresh
        return fresh
