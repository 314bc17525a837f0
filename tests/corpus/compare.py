"""Compare a summarised reply with the recording: the README's essentials, then details.

Essentials: status, Content-Type (exact), kind, a Status's reason and code, a list's
item count, a watch's events (types and names), its ERROR codes and reasons, who
ended it and when (within a second). Details, compared too: object name, selected
fields, indentation, continue tokens, Table shape, protobuf envelope, WebSocket close
code, and the headers clients act on. `<placeholders>` in the recording match any
value of their shape; `<n>` and whatever `nondeterministic` names are skipped.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tests.corpus.placeholders import pattern_for

DETAIL_KEYS = (
    "name", "indented", "continue", "columns", "rows", "row_object_kind",
    "protobuf_magic", "body_is_json", "body_bytes",
)
COMPARED_HEADERS = (
    "content-encoding", "warning", "sec-websocket-protocol", "upgrade", "www-authenticate",
    "location", "retry-after",
)
AFTER_S_TOLERANCE = 1


def matches(expected: Any, actual: Any, values: Mapping[str, str]) -> bool:
    """Equality, where a recorded string with placeholders is a pattern."""
    if expected == "<n>":
        return actual is not None
    if isinstance(expected, str) and "<" in expected:
        pattern = pattern_for(expected, values)
        return isinstance(actual, str) and pattern.fullmatch(actual) is not None
    if isinstance(expected, list):
        return (isinstance(actual, list) and len(expected) == len(actual)
                and all(matches(e, a, values) for e, a in zip(expected, actual, strict=True)))
    if isinstance(expected, dict):
        return (isinstance(actual, dict) and set(expected) == set(actual)
                and all(matches(expected[k], actual[k], values) for k in expected))
    return bool(expected == actual)


def _events(watch: Mapping[str, Any], *, drop_periodic_bookmarks: bool) -> list[tuple[Any, Any]]:
    """(type, name) per event; periodic (not initial-events-end) BOOKMARKs optionally left out."""
    bookmarks = iter(watch.get("bookmarks") or [])
    events = []
    for event_type, name in zip(
        watch.get("event_types") or [], watch.get("event_names") or [], strict=False
    ):
        if event_type == "BOOKMARK":
            bookmark = next(bookmarks, {})
            if drop_periodic_bookmarks and not bookmark.get("initial_events_end"):
                continue
        events.append((event_type, name))
    return events


def _compare_watch(
    want: Mapping[str, Any], got: Mapping[str, Any] | None, nondeterministic: str
) -> list[str]:
    if got is None:
        return ["watch: the fake answered no event stream"]
    problems: list[str] = []
    understood = "BOOKMARK" in nondeterministic or "after_s" in nondeterministic
    skip_events = bool(nondeterministic) and not understood
    if not skip_events:
        drop = "BOOKMARK" in nondeterministic
        want_events = _events(want, drop_periodic_bookmarks=drop)
        got_events = _events(got, drop_periodic_bookmarks=drop)
        if want_events != got_events:
            problems.append(f"watch events: want {want_events}, got {got_events}")
    want_errors = [(e.get("code"), e.get("reason")) for e in want.get("errors") or []]
    got_errors = [(e.get("code"), e.get("reason")) for e in got.get("errors") or []]
    if want_errors != got_errors:
        problems.append(f"watch errors: want {want_errors}, got {got_errors}")
    want_end, got_end = want.get("end") or {}, got.get("end") or {}
    if not skip_events and want_end.get("by") != got_end.get("by"):
        problems.append(f"watch end.by: want {want_end.get('by')}, got {got_end.get('by')} "
                        f"after {got_end.get('after_s')} s ({got_end.get('how')})")
    elif "end.after_s" not in nondeterministic and not skip_events:
        want_after, got_after = want_end.get("after_s"), got_end.get("after_s")
        if isinstance(want_after, int | float) and (
            not isinstance(got_after, int | float)
            or abs(want_after - got_after) > AFTER_S_TOLERANCE
        ):
            problems.append(f"watch end.after_s: want {want_after}±1, got {got_after}")
    return problems


def _compare_essentials(want: Mapping[str, Any], got: Mapping[str, Any],
                        values: Mapping[str, str]) -> list[str]:
    problems: list[str] = []
    for key in ("status", "content_type", "kind"):
        if want.get(key) != got.get(key):
            problems.append(f"{key}: want {want.get(key)!r}, got {got.get(key)!r}")
    if want.get("kind") == "Status" and got.get("kind") == "Status":
        for key in ("reason", "code"):  # as far as the recording noted them
            if key in want and want[key] != got.get(key):
                problems.append(f"Status {key}: want {want.get(key)!r}, got {got.get(key)!r}")
    if "items" in want and not matches(want["items"], got.get("items"), values):
        problems.append(f"items: want {want['items']}, got {got.get('items')}")
    return problems


def _compare_details(want: Mapping[str, Any], got: Mapping[str, Any],
                     values: Mapping[str, str]) -> list[str]:
    problems: list[str] = []
    for key in DETAIL_KEYS:
        if key in want and not matches(want[key], got.get(key), values):
            problems.append(f"{key}: want {want[key]!r}, got {got.get(key)!r}")
    if "continue" not in want and "items" in want and got.get("continue"):
        problems.append("continue: want none, got a continue token")
    for path, value in (want.get("fields") or {}).items():
        actual = (got.get("fields") or {}).get(path)
        if not matches(value, actual, values):
            problems.append(f"fields[{path}]: want {value!r}, got {actual!r}")
    want_headers, got_headers = want.get("headers") or {}, got.get("headers") or {}
    for name in COMPARED_HEADERS:
        expected, actual = want_headers.get(name), got_headers.get(name)
        if (expected is None) != (actual is None) or (
            expected is not None and not matches(expected, actual, values)
        ):
            problems.append(f"header {name}: want {expected!r}, got {actual!r}")
    if "ws_close" in want:
        want_code = want["ws_close"].get("code")
        got_code = (got.get("ws_close") or {}).get("code")
        if want_code != got_code:
            problems.append(f"WebSocket close code: want {want_code}, got {got_code}")
    if "stream_end" in want and (got.get("stream_end") or {}).get("by") != want[
        "stream_end"
    ].get("by"):
        problems.append(f"stream end: want {want['stream_end']}, got {got.get('stream_end')}")
    return problems


def compare(
    want: Mapping[str, Any],
    got: Mapping[str, Any],
    *,
    values: Mapping[str, str],
    nondeterministic: str = "",
) -> list[str]:
    """Every difference that matters, as readable lines; empty when the fake matched."""
    if got.get("error"):
        return [f"no response: {got['error']}"]
    problems = _compare_essentials(want, got, values)
    if "watch" in want:
        problems += _compare_watch(want["watch"], got.get("watch"), nondeterministic)
    elif "watch" in got:
        problems.append(f"watch: the fake streamed events {got['watch'].get('event_types')}")
    if not problems:
        problems += _compare_details(want, got, values)
    return problems
