"""Which representation a client asked for in `Accept`: plain JSON or a meta.k8s.io Table.

Protobuf is never chosen: this server, like one whose types lack protobuf, answers
JSON to clients that offer both.
"""

from __future__ import annotations

from dataclasses import dataclass

from proxy.testing import status

SUPPORTED_MEDIA_TYPES = "application/json, application/yaml, application/vnd.kubernetes.protobuf"
_JSON_TYPES = frozenset({"application/json", "application/*", "*/*"})
_TABLE_VERSIONS = frozenset({"v1", "v1beta1"})


@dataclass(frozen=True)
class Representation:
    """The chosen output: a Table (and its apiVersion) or the object itself."""

    table_api_version: str | None = None

    @property
    def is_table(self) -> bool:
        return self.table_api_version is not None


PLAIN = Representation()


def _parse(entry: str) -> tuple[str, dict[str, str]]:
    media_type, *raw_params = entry.split(";")
    params: dict[str, str] = {}
    for raw in raw_params:
        key, _, value = raw.partition("=")
        params[key.strip().lower()] = value.strip()
    return media_type.strip().lower(), params


def negotiate(accept: str) -> Representation:
    """The first acceptable entry of `accept` wins; 406 when none is acceptable."""
    if not accept.strip():
        return PLAIN
    for entry in accept.split(","):
        media_type, params = _parse(entry)
        if media_type not in _JSON_TYPES:
            continue
        as_kind = params.get("as")
        if as_kind is None:
            return PLAIN
        if (
            as_kind == "Table"
            and params.get("g") == "meta.k8s.io"
            and params.get("v") in _TABLE_VERSIONS
        ):
            return Representation(table_api_version=f"meta.k8s.io/{params['v']}")
    raise status.not_acceptable(SUPPORTED_MEDIA_TYPES)
