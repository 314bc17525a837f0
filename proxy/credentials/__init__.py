"""Credential sources: where the Authorization header and the client certificate come from.

The forwarder sees only `CredentialSource`; each way of authenticating (a static
token, a token file, a client certificate, an exec plugin, OIDC) is one source, chosen
once by `build_credential_source`. A service account's token (`--token-request`,
token_request.py) is fetched with that source's identity when the target is built.
"""

from proxy.credentials.base import ClientCertificate, Credential, CredentialSource
from proxy.credentials.factory import build_credential_source

__all__ = ["ClientCertificate", "Credential", "CredentialSource", "build_credential_source"]
