"""Choose the credential source for a kubeconfig user, once, at start-up."""

from __future__ import annotations

import base64
import logging

from proxy.credentials.base import Clock, Credential, CredentialSource, monotonic
from proxy.credentials.client_cert import load_client_certificate
from proxy.credentials.static import StaticSource
from proxy.credentials.token_file import TokenFileSource
from proxy.errors import CredentialError, KubeconfigError
from proxy.kubeconfig.model import UserConfig

log = logging.getLogger(__name__)


def build_credential_source(user: UserConfig, *, clock: Clock = monotonic) -> CredentialSource:
    """The source for this user's credential; problems surface now, naming file and field.

    Precedence follows client-go: a token wins over a tokenFile; a client
    certificate is presented alongside whichever header applies.
    """
    if user.exec is not None:
        raise KubeconfigError(
            "exec credential plugins are not supported by this version of kube-auth-proxy",
            file=user.file,
            field=user.field_name("exec"),
        )
    if user.auth_provider is not None:
        name = user.auth_provider.get("name", "?")
        raise KubeconfigError(
            f'auth-provider "{name}" is not supported by this version of kube-auth-proxy',
            file=user.file,
            field=user.field_name("auth-provider"),
        )
    certificate = load_client_certificate(user)
    if user.token:
        return StaticSource(
            Credential(authorization=f"Bearer {user.token}", client_certificate=certificate),
            kind="token",
        )
    if user.token_file:
        source = TokenFileSource(
            user.token_file,
            field=f"{user.file}: {user.field_name('tokenFile')}",
            client_certificate=certificate,
            clock=clock,
        )
        try:
            source.load()
        except CredentialError as exc:
            raise KubeconfigError(str(exc)) from None
        return source
    if user.username or user.password:
        pair = f"{user.username or ''}:{user.password or ''}".encode()
        return StaticSource(
            Credential(
                authorization="Basic " + base64.b64encode(pair).decode(),
                client_certificate=certificate,
            ),
            kind="basic",
        )
    if certificate is not None:
        return StaticSource(Credential(client_certificate=certificate), kind="client-certificate")
    log.warning(
        "user %r has no credential: requests reach the API server anonymously", user.name or "-"
    )
    return StaticSource(Credential(), kind="anonymous")
