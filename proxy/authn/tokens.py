"""Where a caller's bearer token is: the Authorization header, or a WebSocket subprotocol.

Browsers cannot set headers on a WebSocket, so Kubernetes accepts the token as
the subprotocol `base64url.bearer.authorization.k8s.io.<base64url token>`.
"""

from __future__ import annotations

import base64
import binascii

from aiohttp import hdrs
from multidict import CIMultiDictProxy

from proxy.headers import BEARER_SUBPROTOCOL_PREFIX


def bearer_token(headers: CIMultiDictProxy[str]) -> str | None:
    scheme, _, token = headers.get(hdrs.AUTHORIZATION, "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    for protocols in headers.getall(hdrs.SEC_WEBSOCKET_PROTOCOL, ()):
        for protocol in protocols.split(","):
            protocol = protocol.strip()
            if protocol.startswith(BEARER_SUBPROTOCOL_PREFIX):
                encoded = protocol[len(BEARER_SUBPROTOCOL_PREFIX):]
                try:
                    decoded = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
                    return decoded.decode("utf-8") or None
                except (binascii.Error, UnicodeDecodeError, ValueError):
                    return None
    return None
