"""Load, validate and merge kubeconfig files, as client-go's clientcmd does.

Every error names the file and the field (`users[name=alice].user.token`), and
no error message ever quotes a credential's value.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from proxy.config import KubeconfigSource
from proxy.errors import KubeconfigError, NoKubeconfigError
from proxy.kubeconfig.model import (
    ClusterConfig,
    ContextConfig,
    Kubeconfig,
    ResolvedContext,
    UserConfig,
)

log = logging.getLogger(__name__)

_CLUSTER_KEYS = {
    "server",
    "certificate-authority",
    "certificate-authority-data",
    "insecure-skip-tls-verify",
    "tls-server-name",
    "proxy-url",
    "disable-compression",
    "extensions",
}


def kubeconfig_files(source: KubeconfigSource) -> list[Path]:
    """The files to read, in precedence order.

    `--kubeconfig` names exactly one file, which must exist. Otherwise every
    existing file of $KUBECONFIG (client-go skips missing ones), else ~/.kube/config.
    """
    if source.explicit_path is not None:
        if not source.explicit_path.exists():
            raise KubeconfigError("no such file", file=str(source.explicit_path))
        return [source.explicit_path]
    if source.env_paths:
        seen: set[Path] = set()
        files = []
        for path in source.env_paths:
            if path not in seen and path.exists():
                seen.add(path)
                files.append(path)
        if not files:
            listed = ":".join(str(p) for p in source.env_paths)
            raise KubeconfigError(f"none of the files in $KUBECONFIG exists ({listed})")
        return files
    if source.home_path is not None and source.home_path.exists():
        return [source.home_path]
    raise NoKubeconfigError(
        "no kubeconfig found: pass --kubeconfig, set $KUBECONFIG, or create ~/.kube/config"
        " (in a pod, the service account is used when KUBERNETES_SERVICE_HOST is set)"
    )


def load_kubeconfig(source: KubeconfigSource) -> Kubeconfig:
    """Read and merge the kubeconfig files: for each name, the first file that defines it wins."""
    files = kubeconfig_files(source)
    clusters: dict[str, ClusterConfig] = {}
    users: dict[str, UserConfig] = {}
    contexts: dict[str, ContextConfig] = {}
    current: str | None = None
    current_file: str | None = None
    for path in files:
        document = _read_document(path)
        parsed = _FileParser(path, document)
        for cluster in parsed.clusters():
            clusters.setdefault(cluster.name, cluster)
        for user in parsed.users():
            users.setdefault(user.name, user)
        for context in parsed.contexts():
            contexts.setdefault(context.name, context)
        if current is None and parsed.current_context():
            current, current_file = parsed.current_context(), str(path)
    return Kubeconfig(
        files=tuple(str(p) for p in files),
        clusters=clusters,
        users=users,
        contexts=contexts,
        current_context=current,
        current_context_file=current_file,
    )


def resolve_context(config: Kubeconfig, source: KubeconfigSource) -> ResolvedContext:
    """Pick the context (`--context` or current-context), then apply `--cluster`/`--user`."""
    files = ", ".join(config.files)
    context_name = source.context or config.current_context
    context: ContextConfig | None = None
    if context_name:
        context = config.contexts.get(context_name)
        if context is None:
            origin = "--context" if source.context else "current-context"
            where = files if source.context else (config.current_context_file or files)
            raise KubeconfigError(f'context "{context_name}" not found', file=where, field=origin)
    elif not (source.cluster and source.user):
        raise KubeconfigError(
            "no current context is set; pass --context, or set one with "
            "`kubectl config use-context NAME`",
            file=files,
            field="current-context",
        )
    cluster_name = source.cluster or (context.cluster if context else None)
    user_name = source.user or (context.user if context else None)
    field_prefix = f"contexts[name={context_name}].context" if context else ""
    if not cluster_name:
        raise KubeconfigError(
            "no cluster named",
            file=context.file if context else files,
            field=f"{field_prefix}.cluster" if context else "--cluster",
        )
    cluster = config.clusters.get(cluster_name)
    if cluster is None:
        raise KubeconfigError(
            f'cluster "{cluster_name}" not found',
            file=context.file if context and not source.cluster else files,
            field="--cluster" if source.cluster else f"{field_prefix}.cluster",
        )
    user = config.users.get(user_name) if user_name else None
    if user_name and user is None:
        raise KubeconfigError(
            f'user "{user_name}" not found',
            file=context.file if context and not source.user else files,
            field="--user" if source.user else f"{field_prefix}.user",
        )
    if user is None:
        # A context may name no user: anonymous access (client cert-less, token-less).
        user = UserConfig(name="", file=context.file if context else files)
    return ResolvedContext(
        context=context_name,
        cluster=cluster,
        user=user,
        namespace=context.namespace if context else None,
    )


def _read_document(path: Path) -> Mapping[str, Any]:
    import yaml  # only when a file is read (in a pod the proxy may read none)

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise KubeconfigError("no such file", file=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise KubeconfigError(f"cannot read: {_os_reason(exc)}", file=str(path)) from None
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid syntax"
        raise KubeconfigError(f"not valid YAML{where}: {problem}", file=str(path)) from None
    if document is None:
        return {}
    if not isinstance(document, Mapping):
        raise KubeconfigError(
            f"not a kubeconfig: the document is a {_yaml_type(document)}, not a mapping",
            file=str(path),
        )
    return document


class _FileParser:
    """Turns one file's document into model entries, checking each field's type."""

    def __init__(self, path: Path, document: Mapping[str, Any]):
        self.path = path
        self.file = str(path)
        self.folder = path.parent
        self.document = document

    def current_context(self) -> str | None:
        value = self.document.get("current-context")
        if value in (None, ""):
            return None
        if not isinstance(value, str):
            raise self._error("current-context", f"must be a string, not a {_yaml_type(value)}")
        return value

    def clusters(self) -> list[ClusterConfig]:
        result = []
        for name, body, field in self._entries("clusters", "cluster"):
            unknown = set(body) - _CLUSTER_KEYS
            if unknown:
                log.debug("%s: %s: ignoring unknown keys %s", self.file, field, sorted(unknown))
            server = self._string(body, "server", field)
            if not server:
                raise self._error(f"{field}.server", "no server URL set")
            ca_file = self._path(body, "certificate-authority", field)
            ca_data = self._base64(body, "certificate-authority-data", field)
            insecure = self._bool(body, "insecure-skip-tls-verify", field)
            if ca_file and ca_data:
                log.warning(
                    "%s: %s: both certificate-authority and certificate-authority-data are set; "
                    "the data wins, as in kubectl",
                    self.file,
                    field,
                )
                ca_file = None
            if insecure and (ca_file or ca_data):
                raise self._error(
                    f"{field}.insecure-skip-tls-verify",
                    "cannot be combined with a certificate authority: "
                    "verify with the CA or skip verification, not both",
                )
            result.append(
                ClusterConfig(
                    name=name,
                    file=self.file,
                    server=server,
                    certificate_authority=ca_file,
                    certificate_authority_data=ca_data,
                    insecure_skip_tls_verify=insecure,
                    tls_server_name=self._string(body, "tls-server-name", field),
                )
            )
        return result

    def users(self) -> list[UserConfig]:
        result = []
        for name, body, field in self._entries("users", "user"):
            cert_file = self._path(body, "client-certificate", field)
            key_file = self._path(body, "client-key", field)
            cert_data = self._base64(body, "client-certificate-data", field)
            key_data = self._base64(body, "client-key-data", field)
            if cert_file and cert_data:
                log.warning(
                    "%s: %s: client-certificate-data overrides client-certificate", self.file, field
                )
                cert_file = None
            if key_file and key_data:
                log.warning("%s: %s: client-key-data overrides client-key", self.file, field)
                key_file = None
            has_cert, has_key = bool(cert_file or cert_data), bool(key_file or key_data)
            if has_cert != has_key:
                missing = "client-key" if has_cert else "client-certificate"
                raise self._error(
                    f"{field}.{missing}",
                    f"missing: {missing} or {missing}-data must be set with the "
                    f"{'certificate' if has_cert else 'key'}",
                )
            token = self._string(body, "token", field)
            username = self._string(body, "username", field)
            password = self._string(body, "password", field)
            if token and (username or password):
                raise self._error(
                    field,
                    "more than one authentication method: token and username/password; "
                    "only one is allowed",
                )
            extra = self._mapping(body, "as-user-extra", field)
            result.append(
                UserConfig(
                    name=name,
                    file=self.file,
                    token=token,
                    token_file=self._path(body, "tokenFile", field),
                    client_certificate=cert_file,
                    client_key=key_file,
                    client_certificate_data=cert_data,
                    client_key_data=key_data,
                    username=username,
                    password=password,
                    impersonate=self._string(body, "as", field),
                    impersonate_uid=self._string(body, "as-uid", field),
                    impersonate_groups=self._strings(body, "as-groups", field),
                    impersonate_extra={
                        str(k): self._strings(extra, str(k), f"{field}.as-user-extra")
                        for k in extra
                    },
                    exec=self._mapping(body, "exec", field) or None,
                    auth_provider=self._mapping(body, "auth-provider", field) or None,
                )
            )
        return result

    def contexts(self) -> list[ContextConfig]:
        result = []
        for name, body, field in self._entries("contexts", "context"):
            result.append(
                ContextConfig(
                    name=name,
                    file=self.file,
                    cluster=self._string(body, "cluster", field) or "",
                    user=self._string(body, "user", field) or "",
                    namespace=self._string(body, "namespace", field),
                )
            )
        return result

    # -- typed field access -------------------------------------------------

    def _entries(self, section: str, inner: str) -> list[tuple[str, Mapping[str, Any], str]]:
        items = self.document.get(section)
        if items is None:
            return []
        if not isinstance(items, list):
            raise self._error(section, f"must be a list, not a {_yaml_type(items)}")
        entries = []
        for index, item in enumerate(items):
            if not isinstance(item, Mapping):
                raise self._error(
                    f"{section}[{index}]",
                    f"must be a mapping with name and {inner}, not a {_yaml_type(item)}",
                )
            name = item.get("name")
            if not isinstance(name, str) or not name:
                raise self._error(f"{section}[{index}].name", "missing or not a string")
            field = f"{section}[name={name}].{inner}"
            body = item.get(inner)
            if body is None:
                body = {}
            if not isinstance(body, Mapping):
                raise self._error(field, f"must be a mapping, not a {_yaml_type(body)}")
            entries.append((name, body, field))
        return entries

    def _string(self, body: Mapping[str, Any], key: str, field: str) -> str | None:
        value = body.get(key)
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            raise self._error(f"{field}.{key}", f"must be a string, not a {_yaml_type(value)}")
        return value

    def _strings(self, body: Mapping[str, Any], key: str, field: str) -> tuple[str, ...]:
        value = body.get(key)
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self._error(f"{field}.{key}", "must be a list of strings")
        return tuple(value)

    def _bool(self, body: Mapping[str, Any], key: str, field: str) -> bool:
        value = body.get(key, False)
        if not isinstance(value, bool):
            raise self._error(f"{field}.{key}", f"must be true or false, not {value!r}")
        return value

    def _mapping(self, body: Mapping[str, Any], key: str, field: str) -> Mapping[str, Any]:
        value = body.get(key)
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise self._error(f"{field}.{key}", f"must be a mapping, not a {_yaml_type(value)}")
        return value

    def _path(self, body: Mapping[str, Any], key: str, field: str) -> Path | None:
        """A file reference; relative paths are relative to this kubeconfig's own folder."""
        value = self._string(body, key, field)
        if value is None:
            return None
        path = Path(os.path.expanduser(value))
        return path if path.is_absolute() else self.folder / path

    def _base64(self, body: Mapping[str, Any], key: str, field: str) -> bytes | None:
        value = self._string(body, key, field)
        if value is None:
            return None
        compact = "".join(value.split())  # Go's decoder skips newlines too
        try:
            return base64.b64decode(compact, validate=True)
        except (binascii.Error, ValueError):
            # Never echo the value: it may be a private key.
            raise self._error(f"{field}.{key}", "not valid base64") from None

    def _error(self, field: str, message: str) -> KubeconfigError:
        return KubeconfigError(message, file=self.file, field=field)


def _yaml_type(value: object) -> str:
    if isinstance(value, Mapping):
        return "mapping"
    if isinstance(value, Sequence) and not isinstance(value, str):
        return "list"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return type(value).__name__


def _os_reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return type(exc).__name__
