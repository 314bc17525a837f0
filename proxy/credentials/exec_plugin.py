"""Exec credential plugins (`users[].user.exec`), run as client-go runs them.

The plugin is a command that prints an `ExecCredential` with a token, or a
client certificate and key, and maybe an expiry. It runs without a terminal
(a daemon has none), one process at a time, and its output never reaches a
log line or an error message: only a summary of its stderr, masked.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import logging
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from proxy.credentials.base import Credential
from proxy.credentials.client_cert import parse_client_certificate
from proxy.credentials.refreshing import Expiring
from proxy.credentials.timestamps import parse_rfc3339
from proxy.errors import CredentialError, KubeconfigError
from proxy.kubeconfig.model import ClusterConfig, UserConfig
from proxy.redact import mask_helper_output

log = logging.getLogger(__name__)

API_VERSIONS = ("client.authentication.k8s.io/v1", "client.authentication.k8s.io/v1beta1")
INTERACTIVE_MODES = ("Never", "IfAvailable", "Always")
RUN_TIMEOUT_SECONDS = 60.0
# Renew this long before the expiry the plugin reported (or at 90% of a short life).
RENEW_BEFORE_SECONDS = 30.0


@dataclass(frozen=True)
class ExecConfig:
    api_version: str
    command: str
    args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict, repr=False)
    provide_cluster_info: bool = False
    install_hint: str | None = None
    file: str = ""
    field: str = ""


def parse_exec_config(user: UserConfig) -> ExecConfig:
    """Validate `users[].user.exec` at start-up; errors name the file and the field."""
    spec = user.exec or {}
    where = user.field_name("exec")

    def fail(key: str, message: str) -> KubeconfigError:
        return KubeconfigError(message, file=user.file, field=f"{where}.{key}" if key else where)

    api_version = spec.get("apiVersion")
    if api_version not in API_VERSIONS:
        raise fail("apiVersion", f"must be one of {', '.join(API_VERSIONS)}, not {api_version!r}")
    command = spec.get("command")
    if not isinstance(command, str) or not command:
        raise fail("command", "missing: the plugin's command must be set")
    args = spec.get("args") or []
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        raise fail("args", "must be a list of strings")
    env: dict[str, str] = {}
    for index, entry in enumerate(spec.get("env") or []):
        if not isinstance(entry, Mapping) or not isinstance(entry.get("name"), str):
            raise fail(f"env[{index}]", "must be a mapping with name and value")
        env[entry["name"]] = str(entry.get("value", ""))
    mode = spec.get("interactiveMode")
    if mode is None and api_version.endswith("/v1"):
        raise fail("interactiveMode", "missing: client.authentication.k8s.io/v1 requires it "
                   "(Never or IfAvailable for a daemon)")
    if mode is not None and mode not in INTERACTIVE_MODES:
        raise fail("interactiveMode", f"must be one of {', '.join(INTERACTIVE_MODES)}")
    if mode == "Always":
        raise fail("interactiveMode", "is Always, but kube-auth-proxy runs without a terminal "
                   "to answer prompts: use a plugin configuration that can run with "
                   "IfAvailable or Never")
    provide = spec.get("provideClusterInfo", False)
    if not isinstance(provide, bool):
        raise fail("provideClusterInfo", "must be true or false")
    hint = spec.get("installHint")
    # A command with a slash is relative to the kubeconfig's folder, as in client-go.
    if os.sep in command and not os.path.isabs(command):
        command = str(Path(user.file).parent / command)
    config = ExecConfig(
        api_version=api_version, command=command, args=tuple(args), env=env,
        provide_cluster_info=provide, install_hint=hint if isinstance(hint, str) else None,
        file=user.file, field=where,
    )
    if resolve_command(config) is None:
        raise KubeconfigError(not_found_message(config), file=user.file, field=f"{where}.command")
    return config


def resolve_command(config: ExecConfig) -> str | None:
    if os.sep in config.command:
        return config.command if os.access(config.command, os.X_OK) else None
    return shutil.which(config.command)


def not_found_message(config: ExecConfig) -> str:
    message = f"exec plugin {config.command!r} not found"
    if config.install_hint:
        message += f". It looks like a client-go credential plugin is not installed: " \
                   f"{config.install_hint.strip()}"
    return message


class ExecPlugin:
    """Runs the plugin and turns its `ExecCredential` into an `Expiring` credential."""

    def __init__(self, config: ExecConfig, *, cluster: ClusterConfig,
                 timeout: float = RUN_TIMEOUT_SECONDS, clock: Any = None):
        self._config = config
        self._cluster = cluster
        self._timeout = timeout
        self._now = clock or (lambda: dt.datetime.now(dt.UTC).timestamp())
        self.runs = 0

    def exec_info(self) -> dict[str, Any]:
        """`KUBERNETES_EXEC_INFO`: what client-go tells the plugin."""
        spec: dict[str, Any] = {"interactive": False}
        if self._config.provide_cluster_info:
            cluster: dict[str, Any] = {"server": self._cluster.server}
            if self._cluster.tls_server_name:
                cluster["tls-server-name"] = self._cluster.tls_server_name
            if self._cluster.insecure_skip_tls_verify:
                cluster["insecure-skip-tls-verify"] = True
            ca = self._cluster.certificate_authority_data
            if ca is None and self._cluster.certificate_authority is not None:
                try:
                    ca = self._cluster.certificate_authority.read_bytes()
                except OSError:
                    ca = None
            if ca is not None:
                cluster["certificate-authority-data"] = base64.b64encode(ca).decode()
            spec["cluster"] = cluster
        return {"apiVersion": self._config.api_version, "kind": "ExecCredential", "spec": spec}

    async def run(self) -> Expiring:
        command = resolve_command(self._config)
        if command is None:
            raise CredentialError(not_found_message(self._config))
        env = {**os.environ, **self._config.env,
               "KUBERNETES_EXEC_INFO": json.dumps(self.exec_info())}
        self.runs += 1
        name = os.path.basename(self._config.command)
        try:
            process = await asyncio.create_subprocess_exec(
                command, *self._config.args, env=env, stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            )
        except OSError as exc:
            raise CredentialError(f'exec plugin "{name}" could not start: '
                                  f"{(exc.strerror or type(exc).__name__).lower()}") from None
        try:
            stdout, stderr = await asyncio.wait_for(process.communicate(), self._timeout)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise CredentialError(
                f'exec plugin "{name}" did not finish within {self._timeout:g}s'
            ) from None
        if process.returncode != 0:
            _log_stderr(name, f"exited with code {process.returncode}", stderr)
            raise CredentialError(
                f'exec plugin "{name}" exited with code {process.returncode}; '
                "see the proxy's log"
            )
        try:
            return self._parse(stdout, name)
        except CredentialError:
            if stderr.strip():
                _log_stderr(name, "printed no usable ExecCredential", stderr)
            raise

    def _parse(self, stdout: bytes, name: str) -> Expiring:
        try:
            document = json.loads(stdout)
        except ValueError:
            # Never quote the output: it may hold half a token.
            raise CredentialError(
                f'exec plugin "{name}" printed something that is not an ExecCredential '
                f"(not JSON, {len(stdout)} bytes)"
            ) from None
        if not isinstance(document, dict) or document.get("kind") != "ExecCredential":
            raise CredentialError(f'exec plugin "{name}" printed JSON that is not an '
                                  "ExecCredential")
        answered = document.get("apiVersion")
        if answered != self._config.api_version:
            # Quote only a known value: whatever else the plugin printed may be a secret.
            shown = f'"{answered}"' if answered in API_VERSIONS else "another apiVersion"
            raise CredentialError(
                f'exec plugin "{name}" answered with {shown}, '
                f'expected "{self._config.api_version}"'
            )
        status = document.get("status")
        if not isinstance(status, dict):
            raise CredentialError(f'exec plugin "{name}": the ExecCredential has no status')
        token = status.get("token") or None
        cert_data, key_data = status.get("clientCertificateData"), status.get("clientKeyData")
        if bool(cert_data) != bool(key_data):
            raise CredentialError(f'exec plugin "{name}" returned only one of '
                                  "clientCertificateData and clientKeyData")
        if not token and not cert_data:
            raise CredentialError(f'exec plugin "{name}" returned neither a token nor a '
                                  "client certificate and key")
        certificate = None
        if cert_data and key_data:
            try:
                certificate = parse_client_certificate(
                    str(cert_data).encode(), str(key_data).encode(), file=f"exec plugin {name}",
                    cert_field="status.clientCertificateData",
                    key_field="status.clientKeyData",
                )
            except KubeconfigError as exc:
                raise CredentialError(str(exc)) from None
        expires_at = _parse_expiry(status.get("expirationTimestamp"), name)
        now = self._now()
        renew_at = None
        if expires_at is not None:
            renew_at = max(now, expires_at - min(RENEW_BEFORE_SECONDS, (expires_at - now) * 0.1))
        return Expiring(
            credential=Credential(
                authorization=f"Bearer {token}" if token else None,
                client_certificate=certificate,
            ),
            expires_at=expires_at,
            renew_at=renew_at,
        )


def _log_stderr(name: str, what: str, stderr: bytes) -> None:
    """The plugin's stderr, masked, for the operator: the only place it is shown."""
    masked = mask_helper_output(stderr.decode(errors="replace"))
    if masked:
        log.warning('exec plugin "%s" %s; its stderr (masked):\n%s', name, what, masked)
    else:
        log.warning('exec plugin "%s" %s; its stderr was empty', name, what)


def _parse_expiry(value: object, name: str) -> float | None:
    if value in (None, ""):
        return None
    expires_at = parse_rfc3339(str(value))
    if expires_at is None:
        raise CredentialError(
            f'exec plugin "{name}": status.expirationTimestamp is not an RFC 3339 time'
        )
    return expires_at
