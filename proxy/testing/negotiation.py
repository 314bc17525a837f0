"""Which representation a client asked for in `Accept`, decided in the apiserver's two steps.

First go-restful: some Accept entry, stripped of its parameters, must be `*/*` or one of
the route's types exactly (so `application/*` and `Application/JSON` get its plain 406).
Then the apiserver's negotiation: entries by quality, the first it can serve wins
(JSON, YAML or protobuf; a meta.k8s.io Table or PartialObjectMetadata by `as`), or the
406 listing the media types it accepts.
"""

from __future__ import annotations

from dataclasses import dataclass

from proxy.testing import status

JSON = "application/json"
YAML = "application/yaml"
PROTOBUF = "application/vnd.kubernetes.protobuf"
SUPPORTED_MEDIA_TYPES = f"{JSON}, {YAML}, {PROTOBUF}"
# What every resource route of the apiserver declares it produces.
PRODUCED = (JSON, YAML, PROTOBUF, f"{JSON};stream=watch", f"{PROTOBUF};stream=watch")
META_GROUP = "meta.k8s.io"
_META_VERSIONS = frozenset({"v1", "v1beta1"})
TABLE = "Table"
PARTIAL = "PartialObjectMetadata"
PARTIAL_LIST = "PartialObjectMetadataList"


@dataclass(frozen=True)
class Representation:
    """The chosen output: media type, and a meta.k8s.io transform (Table, partial metadata)."""

    media_type: str = JSON
    table_api_version: str | None = None
    # as=PartialObjectMetadata or PartialObjectMetadataList: (kind asked for, apiVersion)
    partial: tuple[str, str] | None = None

    @property
    def is_table(self) -> bool:
        return self.table_api_version is not None


PLAIN = Representation()


@dataclass(frozen=True)
class _Clause:
    media_type: str
    params: dict[str, str]
    quality: float

    @property
    def wildcards(self) -> tuple[bool, bool]:
        kind, _, sub = self.media_type.partition("/")
        return kind == "*", sub == "*"


def _parse(entry: str) -> _Clause:
    media_type, *raw_params = entry.split(";")
    params: dict[str, str] = {}
    quality = 1.0
    for raw in raw_params:
        key, _, value = raw.partition("=")
        key, value = key.strip().lower(), value.strip()
        if key == "q":
            try:
                quality = float(value)
            except ValueError:
                quality = 0.0
        else:
            params[key] = value
    return _Clause(media_type.strip().lower(), params, quality)


def check_route_produces(accept: str) -> None:
    """go-restful's Route.matchesAccept: exact, case-sensitive, parameters ignored."""
    if not accept.strip():
        return
    for entry in accept.split(","):
        bare = entry.split(";")[0].strip()
        if bare == "*/*" or bare in PRODUCED:
            return
    raise status.APIError(
        406,
        reason="NotAcceptable",
        message="406: Not Acceptable\n\nAvailable representations: " + ", ".join(PRODUCED),
    )


def _transform(clause: _Clause) -> Representation | None:
    """The representation one clause asks for, or None when this server cannot serve it."""
    as_kind = clause.params.get("as")
    if as_kind is None:
        return Representation(media_type=clause.media_type)
    group, version = clause.params.get("g"), clause.params.get("v")
    if group != META_GROUP or version not in _META_VERSIONS:
        return None
    api_version = f"{META_GROUP}/{version}"
    if as_kind == TABLE and clause.media_type != PROTOBUF:
        return Representation(media_type=clause.media_type, table_api_version=api_version)
    if as_kind in (PARTIAL, PARTIAL_LIST):
        return Representation(media_type=clause.media_type, partial=(as_kind, api_version))
    return None


def negotiate(accept: str, *, protobuf: bool = True) -> Representation:
    """The best acceptable entry of `accept` wins; 406 when none is acceptable.

    With `protobuf=False` (a kind this fake cannot write completely in protobuf) a
    protobuf entry yields to a later JSON or YAML one, and is chosen only as a last resort.
    """
    if not accept.strip():
        return PLAIN
    check_route_produces(accept)
    clauses = [_parse(entry) for entry in accept.split(",") if entry.strip()]
    clauses.sort(key=lambda c: (-c.quality, *c.wildcards))  # stable: ties keep their order
    last_resort: Representation | None = None
    for clause in clauses:
        if clause.quality <= 0:
            continue
        if clause.media_type == "*/*":
            return PLAIN
        if clause.media_type in (JSON, YAML, PROTOBUF):
            chosen = _transform(clause)
            if chosen is not None and clause.media_type == PROTOBUF and not protobuf:
                last_resort = last_resort or chosen
            elif chosen is not None:
                return chosen
    if last_resort is not None:
        return last_resort
    raise status.not_acceptable(SUPPORTED_MEDIA_TYPES)


def output_media_type(accept: str) -> str:
    """The plain media type for a Status: as negotiated, JSON when negotiation fails."""
    try:
        return negotiate(accept).media_type
    except status.APIError:
        return JSON
