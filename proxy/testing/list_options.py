"""ListOptions as the apiserver decodes, defaults and validates them for list and watch.

Decoding errors are 400s with Go's strconv messages; validation errors are one 422
`ListOptions.meta.k8s.io "" is invalid` listing every cause, as ValidateListOptions
reports them. With the WatchList feature (on by default in 1.32) a watch without
resourceVersion (or with 0) is a watch that sends initial events.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from multidict import MultiMapping

from proxy.testing import status
from proxy.testing.request_info import go_bool

NOT_OLDER_THAN = "NotOlderThan"
EXACT = "Exact"
_GO_INT = re.compile(r"^[+-]?[0-9]+$")
_INT64_MAX = 2**63 - 1


@dataclass(frozen=True)
class ListOptions:
    watch: bool = False
    resource_version: str = ""
    resource_version_match: str = ""
    send_initial_events: bool | None = None
    allow_watch_bookmarks: bool = False
    timeout_seconds: int | None = None
    limit: int | None = None
    continue_token: str = ""


def go_int(name: str, raw: str) -> int:
    """strconv.ParseInt(raw, 10, 64), with its error text in a 400."""
    if not _GO_INT.match(raw):
        raise status.bad_request(f'strconv.ParseInt: parsing "{raw}": invalid syntax')
    value = int(raw)
    if not -_INT64_MAX - 1 <= value <= _INT64_MAX:
        raise status.bad_request(f'strconv.ParseInt: parsing "{raw}": value out of range')
    return value


def _optional_int(query: MultiMapping[str], name: str) -> int | None:
    values = query.getall(name, [])
    return go_int(name, values[0]) if values else None


def parse_list_options(query: MultiMapping[str]) -> ListOptions:
    send = query.getall("sendInitialEvents", [])
    return ListOptions(
        watch=go_bool(query.getall("watch", [])),
        resource_version=query.get("resourceVersion", ""),
        resource_version_match=query.get("resourceVersionMatch", ""),
        send_initial_events=go_bool(send) if send else None,
        allow_watch_bookmarks=go_bool(query.getall("allowWatchBookmarks", [])),
        timeout_seconds=_optional_int(query, "timeoutSeconds"),
        limit=_optional_int(query, "limit"),
        continue_token=query.get("continue", ""),
    )


def with_watch_list_defaults(options: ListOptions) -> ListOptions:
    """SetListOptionsDefaults: a watch from "" or "0" sends initial events."""
    if options.send_initial_events is not None or options.resource_version_match:
        return options
    if not options.watch or options.resource_version not in ("", "0"):
        return options
    return replace(options, send_initial_events=True, resource_version_match=NOT_OLDER_THAN)


def _forbidden(message: str) -> dict[str, str]:
    return {"reason": "FieldValueForbidden", "message": f"Forbidden: {message}"}


def _not_supported(value: str, supported: tuple[str, ...]) -> dict[str, str]:
    quoted = ", ".join(f'"{s}"' for s in supported)
    return {
        "reason": "FieldValueNotSupported",
        "message": f'Unsupported value: "{value}": supported values: {quoted}',
    }


def _watch_causes(options: ListOptions) -> list[tuple[str, dict[str, str]]]:
    causes: list[tuple[str, dict[str, str]]] = []
    match = options.resource_version_match
    if options.send_initial_events is not None and match != NOT_OLDER_THAN:
        causes.append(("resourceVersionMatch", _forbidden(
            f"sendInitialEvents requires setting resourceVersionMatch to {NOT_OLDER_THAN}")))
    if match:
        if options.send_initial_events is None:
            causes.append(("resourceVersionMatch", _forbidden(
                "resourceVersionMatch is forbidden for watch unless sendInitialEvents is "
                "provided")))
        if match != NOT_OLDER_THAN:
            causes.append(("resourceVersionMatch", _not_supported(match, (NOT_OLDER_THAN,))))
        if options.continue_token:
            causes.append(("resourceVersionMatch", _forbidden(
                "resourceVersionMatch is forbidden when continue is provided")))
    return causes


def _list_causes(options: ListOptions) -> list[tuple[str, dict[str, str]]]:
    causes: list[tuple[str, dict[str, str]]] = []
    match = options.resource_version_match
    if match:
        if not options.resource_version:
            causes.append(("resourceVersionMatch", _forbidden(
                "resourceVersionMatch is forbidden unless resourceVersion is provided")))
        if options.continue_token:
            causes.append(("resourceVersionMatch", _forbidden(
                "resourceVersionMatch is forbidden when continue is provided")))
        if match not in (EXACT, NOT_OLDER_THAN):
            supported = (EXACT, NOT_OLDER_THAN, "")
            causes.append(("resourceVersionMatch", _not_supported(match, supported)))
        if match == EXACT and options.resource_version == "0":
            causes.append(("resourceVersionMatch", _forbidden(
                'resourceVersionMatch "exact" is forbidden for resourceVersion "0"')))
    if options.send_initial_events is not None:
        causes.append(("sendInitialEvents", _forbidden("sendInitialEvents is forbidden for list")))
    return causes


def validate_list_options(options: ListOptions) -> None:
    """ValidateListOptions: one 422 Invalid with every cause, or nothing."""
    causes = _watch_causes(options) if options.watch else _list_causes(options)
    if not causes:
        return
    texts = [f"{field}: {cause['message']}" for field, cause in causes]
    summary = texts[0] if len(texts) == 1 else "[" + ", ".join(texts) + "]"
    raise status.APIError(
        422,
        reason="Invalid",
        message=f'ListOptions.meta.k8s.io "" is invalid: {summary}',
        details={
            "group": "meta.k8s.io",
            "kind": "ListOptions",
            "causes": [{**cause, "field": field} for field, cause in causes],
        },
    )
