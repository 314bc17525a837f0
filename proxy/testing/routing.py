"""Map a path below /api/v1/ to the resource, namespace, name and subresource it names."""

from __future__ import annotations

from dataclasses import dataclass

from proxy.testing import status
from proxy.testing.kinds import KINDS, ResourceKind


@dataclass(frozen=True)
class Target:
    """What a /api/v1 request is about."""

    kind: ResourceKind
    namespace: str | None = None  # None: cluster-scoped, or all namespaces
    name: str | None = None
    subresource: str | None = None
    legacy_watch: bool = False  # the deprecated /api/v1/watch/... form
    proxy_path: str = ""  # what follows .../proxy/ in a proxy subresource path


def _kind(plural: str, group: str) -> ResourceKind:
    kind = KINDS.get(plural)
    if kind is None or kind.group != group:
        raise status.resource_not_found()
    return kind


def parse_target(tail: str, *, group: str = "") -> Target:
    """Parse `tail`, the path after /api/v1/ (or /apis/GROUP/VERSION/); 404 for what the
    apiserver does not serve."""
    segments = tail.split("/") if tail else []
    proxy_path = ""
    for index in (2, 4):  # kind/name/proxy/..., namespaces/ns/kind/name/proxy/...
        if index + 1 < len(segments) and segments[index] == "proxy":
            proxy_path = "/".join(segments[index + 1 :])
            segments = segments[: index + 1]
            break
    while segments and segments[-1] == "":  # go-restful trims trailing slashes
        segments = segments[:-1]
    legacy_watch = bool(segments) and segments[0] == "watch"
    if legacy_watch:
        segments = segments[1:]
    if not segments or "" in segments:
        raise status.resource_not_found()
    if segments[0] == "namespaces" and len(segments) >= 3:
        namespace = segments[1]
        kind = _kind(segments[2], group)
        if not kind.namespaced:
            raise status.resource_not_found()
        rest = segments[3:]
    else:
        namespace = None
        kind = _kind(segments[0], group)
        rest = segments[1:]
        if kind.namespaced and rest:
            raise status.resource_not_found()
    if len(rest) > 2 or (len(rest) == 2 and rest[1] not in kind.subresources):
        raise status.resource_not_found()
    if legacy_watch and len(rest) > 1:
        raise status.resource_not_found()
    return Target(
        kind=kind,
        namespace=namespace,
        name=rest[0] if rest else None,
        subresource=rest[1] if len(rest) == 2 else None,
        legacy_watch=legacy_watch,
        proxy_path=proxy_path,
    )
