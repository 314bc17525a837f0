"""Writing kubeconfig files that point kubectl, a proxy or the Python client at a server."""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

import yaml


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def write_kubeconfig(
    path: Path,
    *,
    server: str,
    ca_pem: bytes | None = None,
    ca_file: Path | None = None,
    token: str | None = None,
    token_file: Path | None = None,
    username: str | None = None,
    password: str | None = None,
    client_cert_pem: bytes | None = None,
    client_key_pem: bytes | None = None,
    context: str = "fake",
    namespace: str | None = None,
    insecure: bool = False,
    tls_server_name: str | None = None,
) -> Path:
    """Write a one-context kubeconfig (mode 0600: it holds credentials) and return its path."""
    cluster: dict[str, Any] = {"server": server}
    if ca_pem is not None:
        cluster["certificate-authority-data"] = _b64(ca_pem)
    if ca_file is not None:
        cluster["certificate-authority"] = str(ca_file)
    if insecure:
        cluster["insecure-skip-tls-verify"] = True
    if tls_server_name is not None:
        cluster["tls-server-name"] = tls_server_name
    user: dict[str, Any] = {}
    if token is not None:
        user["token"] = token
    if token_file is not None:
        user["tokenFile"] = str(token_file)
    if username is not None:
        user["username"] = username
    if password is not None:
        user["password"] = password
    if client_cert_pem is not None:
        user["client-certificate-data"] = _b64(client_cert_pem)
    if client_key_pem is not None:
        user["client-key-data"] = _b64(client_key_pem)
    context_entry: dict[str, Any] = {"cluster": context, "user": context}
    if namespace is not None:
        context_entry["namespace"] = namespace
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": context, "cluster": cluster}],
        "users": [{"name": context, "user": user}],
        "contexts": [{"name": context, "context": context_entry}],
        "current-context": context,
        "preferences": {},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as stream:
        yaml.safe_dump(config, stream, sort_keys=False)
    return path
