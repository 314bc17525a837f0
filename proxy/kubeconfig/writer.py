"""Writing back to a kubeconfig file, as kubectl does after an OIDC refresh: atomically."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from proxy.errors import KubeconfigError


def update_auth_provider_config(path: Path, *, user: str, values: Mapping[str, str]) -> None:
    """Set `users[name=user].user.auth-provider.config.<key>` for each value, keeping the rest.

    The new file is written beside the old one and renamed over it, so a reader
    (kubectl, another proxy) sees the old file or the new one, never half of one.
    """
    where = f"users[name={user}].user.auth-provider.config"
    try:
        document: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise KubeconfigError(
            f"cannot re-read to save refreshed tokens: {(exc.strerror or '').lower()}",
            file=str(path), field=where,
        ) from None
    except yaml.YAMLError as exc:
        # PyYAML's message quotes the offending line, which may hold a token: position only.
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise KubeconfigError(f"not valid YAML{at}; refreshed tokens not saved",
                              file=str(path), field=where) from None
    users = document.get("users") if isinstance(document, dict) else None
    candidates = users if isinstance(users, list) else []
    entry = next((u for u in candidates if isinstance(u, dict) and u.get("name") == user), None)
    if entry is None:
        raise KubeconfigError("the user is gone from the file; refreshed tokens not saved",
                              file=str(path), field=f"users[name={user}]")
    config = _mapping_at(entry, ("user", "auth-provider", "config"))
    if config is None:
        raise KubeconfigError("not a mapping; refreshed tokens not saved",
                              file=str(path), field=where)
    config.update(values)
    mode = path.stat().st_mode & 0o777
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            yaml.safe_dump(document, handle, sort_keys=False, default_flow_style=False)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _mapping_at(entry: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any] | None:
    """The nested mapping at `keys`, created where missing; None where something else is."""
    current = entry
    for key in keys:
        child = current.setdefault(key, {})
        if child is None:
            child = current[key] = {}
        if not isinstance(child, dict):
            return None
        current = child
    return current
