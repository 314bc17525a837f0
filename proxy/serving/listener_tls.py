"""The listener's own TLS (certificate files reloaded when they change), and the exposure check.

On loopback, anyone who can reach the port acts with the proxy's credentials:
that is kubectl proxy's standing warning. Listening anywhere else without
authenticating callers is refused unless the operator insists.
"""

from __future__ import annotations

import ipaddress
import logging
import ssl
from pathlib import Path

from proxy.clock import Clock, monotonic
from proxy.errors import ConfigError
from proxy.files import WatchedFile

log = logging.getLogger(__name__)


def is_loopback(address: str) -> bool:
    if address == "localhost":
        return True
    try:
        return ipaddress.ip_address(address.strip("[]")).is_loopback
    except ValueError:
        return False


def check_exposure(
    *, address: str, unix_socket: bool, authenticated: bool, allow_unauthenticated: bool
) -> None:
    """Refuse to serve the proxy's credentials to the network without knowing the callers."""
    if unix_socket or is_loopback(address) or authenticated:
        return
    if not allow_unauthenticated:
        raise ConfigError(
            f"--address {address} is reachable from other hosts, and every caller would act "
            "with this proxy's credentials. Authenticate callers (--authn tokenreview or "
            "--authn client-cert), or listen on loopback or a --unix-socket; "
            "--insecure-allow-unauthenticated serves anyway"
        )
    log.warning(
        "SERVING UNAUTHENTICATED ON %s: anyone who can reach this port acts with the proxy's "
        "credentials (--insecure-allow-unauthenticated)", address,
    )


class ListenerTLS:
    """A server SSLContext whose certificate and key are re-read when their files change.

    Each handshake asks `sni_callback`, which swaps in a context built from the
    new files (at most one stat every few seconds); a pair that fails to load
    keeps the old one. Start-up fails if the first load fails.
    """

    def __init__(
        self,
        *,
        cert_file: Path,
        key_file: Path,
        client_ca_file: Path | None = None,
        clock: Clock = monotonic,
    ):
        self._cert = WatchedFile(cert_file, clock=clock)
        self._key = WatchedFile(key_file, clock=clock)
        self._client_ca_file = client_ca_file
        try:
            self._cert.read()
            self._key.read()
            self._current = self._build()
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(
                f"--tls-cert-file {cert_file} / --tls-private-key-file {key_file}: {exc}"
            ) from None
        self.context = self._build()
        self.context.sni_callback = self._on_handshake

    def _build(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.set_alpn_protocols(["http/1.1"])
        context.load_cert_chain(str(self._cert.path), str(self._key.path))
        if self._client_ca_file is not None:
            try:
                context.load_verify_locations(str(self._client_ca_file))
            except (OSError, ssl.SSLError) as exc:
                raise ConfigError(f"--client-ca-file {self._client_ca_file}: {exc}") from None
            # Optional: a caller without a certificate gets a 401 Status, not a TLS alert.
            context.verify_mode = ssl.CERT_OPTIONAL
        return context

    def _on_handshake(
        self, connection: ssl.SSLObject, server_name: str | None, context: ssl.SSLContext
    ) -> None:
        try:
            changed = self._cert.changed() is not None
            changed = self._key.changed() is not None or changed
            if changed:
                self._current = self._build()
                log.info("listener certificate reloaded from %s", self._cert.path)
        except (OSError, ssl.SSLError, ConfigError) as exc:
            log.warning("reloading the listener certificate: %s; keeping the one loaded", exc)
        connection.context = self._current
