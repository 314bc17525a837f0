"""The upstream `ssl.SSLContext`: verify the API server, present the client certificate."""

from __future__ import annotations

import contextlib
import logging
import os
import ssl
import tempfile
import weakref
from collections.abc import Iterator
from pathlib import Path

from proxy.clock import Clock, monotonic
from proxy.credentials.base import ClientCertificate
from proxy.credentials.client_cert import read_material
from proxy.errors import KubeconfigError
from proxy.files import WatchedFile
from proxy.kubeconfig.model import ClusterConfig

log = logging.getLogger(__name__)

# What a context offers in ALPN: HTTP/1.1 alone keeps upgrades possible on every
# connection; the HTTP/2 transport offers h2 first and takes HTTP/1.1 if that is the answer.
HTTP1_ALPN: tuple[str, ...] = ("http/1.1",)
HTTP2_ALPN: tuple[str, ...] = ("h2", "http/1.1")
# Contexts kept (per certificate and ALPN): a certificate rotated hourly must not leave a
# context behind each time, each with its CA store, for as long as the proxy runs.
MAX_CONTEXTS = 16


class UpstreamTLS:
    """Builds the SSLContext for the cluster, one per client certificate in use.

    The CA is read and checked once, at start-up. A context is cached by the
    certificate's fingerprint, so a rotated certificate gets a fresh context
    (and so a fresh connection pool) without rebuilding anything else; past
    `max_contexts` the oldest is dropped.
    `context_for` offers HTTP/1.1 in ALPN; `offering_h2` turns one of its contexts
    into its twin (same CA, same certificate) that offers h2 first.
    """

    def __init__(
        self, cluster: ClusterConfig, *, clock: Clock = monotonic, max_contexts: int = MAX_CONTEXTS
    ):
        self.server_hostname = cluster.tls_server_name
        self.insecure = cluster.insecure_skip_tls_verify
        self._cluster = cluster
        self._ca_pem = _load_ca(cluster)
        # A CA file is watched: a rotated cluster CA is picked up without a restart.
        self._ca_file = (
            WatchedFile(cluster.certificate_authority, clock=clock)
            if cluster.certificate_authority is not None
            and cluster.certificate_authority_data is None
            else None
        )
        if self._ca_file is not None:
            self._ca_file.read()
        self._contexts: dict[tuple[str | None, tuple[str, ...]], ssl.SSLContext] = {}
        self._max_contexts = max_contexts
        # Which certificate each context presents, so a transport can ask for its twin.
        self._presenting: weakref.WeakKeyDictionary[ssl.SSLContext, ClientCertificate | None] = (
            weakref.WeakKeyDictionary()
        )
        if self.insecure:
            log.warning(
                "%s: %s is true: the API server's certificate is NOT verified, "
                "anyone on the network path can read and change this traffic",
                cluster.file,
                cluster.field_name("insecure-skip-tls-verify"),
            )

    def context_for(
        self, certificate: ClientCertificate | None, *, alpn: tuple[str, ...] = HTTP1_ALPN
    ) -> ssl.SSLContext:
        if self._ca_file is not None:
            self._reload_ca()
        key = (certificate.fingerprint if certificate else None, alpn)
        context = self._contexts.get(key)
        if context is None:
            context = self._build(certificate, alpn=alpn)
            if len(self._contexts) >= self._max_contexts:
                # The oldest built goes: after a rotation, the replaced certificate's.
                del self._contexts[next(iter(self._contexts))]
            self._contexts[key] = context
            self._presenting[context] = certificate
        return context

    def offering_h2(self, context: ssl.SSLContext) -> ssl.SSLContext:
        """The twin of a context from `context_for` that offers `h2, http/1.1` in ALPN.

        A context this did not build is returned as it is: it offers what it
        offers, and the server's answer decides. The twin is built with the CA in
        force now (after a reload, the new one).
        """
        if context not in self._presenting:
            return context
        return self.context_for(self._presenting[context], alpn=HTTP2_ALPN)

    def _reload_ca(self) -> None:
        assert self._ca_file is not None
        try:
            if self._ca_file.changed() is None:
                return
            self._ca_pem = _load_ca(self._cluster)
        except (OSError, KubeconfigError) as exc:
            log.warning("reloading the cluster CA: %s; keeping the one loaded", exc)
            return
        log.info("cluster CA reloaded from %s", self._cluster.certificate_authority)
        self._contexts.clear()

    def _build(
        self, certificate: ClientCertificate | None, *, alpn: tuple[str, ...]
    ) -> ssl.SSLContext:
        if self._ca_pem is not None:
            context = ssl.create_default_context(cadata=self._ca_pem.decode("ascii"))
        else:
            context = ssl.create_default_context()
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.set_alpn_protocols(list(alpn))
        if self.insecure:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        if certificate is not None:
            load_client_certificate(context, certificate)
        return context


def _load_ca(cluster: ClusterConfig) -> bytes | None:
    if cluster.certificate_authority_data is None and cluster.certificate_authority is None:
        return None
    # Imported here: a cluster without a CA of its own (system roots) never needs it.
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    field = cluster.field_name(
        "certificate-authority-data"
        if cluster.certificate_authority_data is not None
        else "certificate-authority"
    )
    pem = read_material(
        cluster.certificate_authority_data,
        cluster.certificate_authority,
        file=cluster.file,
        field=field,
    )
    try:
        certificates = x509.load_pem_x509_certificates(pem)
    except ValueError:
        raise KubeconfigError(
            "not a PEM certificate (expected -----BEGIN CERTIFICATE-----)",
            file=cluster.file,
            field=field,
        ) from None
    # Re-encode: only the certificates, whatever else the file held.
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certificates)


def load_client_certificate(context: ssl.SSLContext, certificate: ClientCertificate) -> None:
    """`load_cert_chain` only reads files: hand it an anonymous in-memory file where we can."""
    with _secret_file(certificate.cert_pem + b"\n" + certificate.key_pem) as path:
        context.load_cert_chain(str(path))


@contextlib.contextmanager
def _secret_file(content: bytes) -> Iterator[Path]:
    if hasattr(os, "memfd_create"):
        fd = os.memfd_create("kube-auth-proxy-client-cert", os.MFD_CLOEXEC)
        try:
            os.write(fd, content)
            yield Path(f"/proc/self/fd/{fd}")
        finally:
            os.close(fd)
        return
    # Elsewhere: a private temporary folder, removed at once.
    with tempfile.TemporaryDirectory(prefix="kube-auth-proxy-") as folder:
        path = Path(folder) / "client.pem"
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(content)
        yield path
