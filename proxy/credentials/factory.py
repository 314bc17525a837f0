"""Choose the credential source for the selected context, once, at start-up.

The modules of the ways this user does not authenticate are never imported (exec
plugins, OIDC, client certificates with cryptography): start-up pays for what the
kubeconfig uses.
"""

from __future__ import annotations

import base64
import logging
from typing import TYPE_CHECKING

from proxy.clock import Clock, monotonic
from proxy.credentials.base import CredentialSource
from proxy.credentials.refreshing import RefreshingSource, wall_clock
from proxy.credentials.static import StaticSource
from proxy.credentials.token_file import TokenFileSource
from proxy.errors import CredentialError, KubeconfigError
from proxy.files import WatchedFile
from proxy.kubeconfig.model import ResolvedContext, UserConfig

if TYPE_CHECKING:
    from proxy.credentials.certificates import CertificateProvider

log = logging.getLogger(__name__)


def build_credential_source(
    context: ResolvedContext, *, clock: Clock = monotonic, wall: Clock = wall_clock
) -> CredentialSource:
    """The source for this user's credential; problems surface now, naming file and field.

    Precedence follows client-go: an exec plugin or auth-provider, else a token
    (which wins over a tokenFile), else username/password; a client
    certificate is presented alongside whichever header applies.
    """
    user = context.user
    if user.exec is not None:
        from proxy.credentials.exec_plugin import ExecPlugin, parse_exec_config

        plugin = ExecPlugin(parse_exec_config(user), cluster=context.cluster, clock=wall)
        return RefreshingSource(kind="exec", fetch=plugin.run, clock=wall)
    if user.auth_provider is not None:
        from proxy.credentials.oidc import OIDCRefresher, parse_oidc_config

        refresher = OIDCRefresher(parse_oidc_config(user), user=user)
        return RefreshingSource(kind="oidc", fetch=refresher.refresh, clock=wall,
                                initial=refresher.initial())
    certificate = certificate_provider(user, clock=clock)
    if user.token:
        return StaticSource(kind="token", authorization=f"Bearer {user.token}",
                            certificate=certificate)
    if user.token_file:
        source = TokenFileSource(
            user.token_file,
            field=f"{user.file}: {user.field_name('tokenFile')}",
            certificate=certificate,
            clock=clock,
        )
        try:
            source.load()
        except CredentialError as exc:
            raise KubeconfigError(str(exc)) from None
        return source
    if user.username or user.password:
        pair = f"{user.username or ''}:{user.password or ''}".encode()
        return StaticSource(kind="basic", authorization="Basic " + base64.b64encode(pair).decode(),
                            certificate=certificate)
    if certificate is not None:
        return StaticSource(kind="client-certificate", certificate=certificate)
    log.warning(
        "user %r has no credential: requests reach the API server anonymously", user.name or "-"
    )
    return StaticSource(kind="anonymous")


def certificate_provider(user: UserConfig, *, clock: Clock) -> CertificateProvider | None:
    """The user's client certificate; files are watched and reloaded when they change."""
    if not user.has_client_certificate:
        return None
    from proxy.credentials.certificates import CertificateFiles, FixedCertificate
    from proxy.credentials.client_cert import load_client_certificate

    certificate = load_client_certificate(user)
    if certificate is None:
        return None
    if user.client_certificate is None or user.client_key is None:
        return FixedCertificate(certificate)
    cert_file = WatchedFile(user.client_certificate, clock=clock)
    key_file = WatchedFile(user.client_key, clock=clock)
    cert_file.read()
    key_file.read()
    return CertificateFiles(
        certificate, cert_file=cert_file, key_file=key_file, file=user.file,
        cert_field=user.field_name("client-certificate"), key_field=user.field_name("client-key"),
    )
