"""labelSelector and fieldSelector parsing and matching, as list and watch apply them."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from proxy.testing import status
from proxy.testing.status import JSONObject

_SET_RE = re.compile(r"^\s*(!?)([A-Za-z0-9_./-]+)\s+(in|notin)\s+\((.*)\)\s*$")
_EQUALITY_RE = re.compile(r"^\s*([A-Za-z0-9_./-]+)\s*(==|!=|=)\s*([A-Za-z0-9_.-]*)\s*$")
_EXISTS_RE = re.compile(r"^\s*(!?)([A-Za-z0-9_./-]+)\s*$")

FIELD_GETTERS: Mapping[str, Callable[[JSONObject], str]] = {
    "metadata.name": lambda obj: str(obj.get("metadata", {}).get("name", "")),
    "metadata.namespace": lambda obj: str(obj.get("metadata", {}).get("namespace", "")),
    "status.phase": lambda obj: str(obj.get("status", {}).get("phase", "")),
    "spec.nodeName": lambda obj: str(obj.get("spec", {}).get("nodeName", "")),
}


@dataclass(frozen=True)
class Requirement:
    key: str
    operator: str  # "=", "!=", "in", "notin", "exists", "!exists"
    values: frozenset[str] = frozenset()

    def matches(self, value: str | None) -> bool:
        if self.operator == "exists":
            return value is not None
        if self.operator == "!exists":
            return value is None
        if self.operator in ("=", "in"):
            return value is not None and value in self.values
        return value is None or value not in self.values


@dataclass(frozen=True)
class Selector:
    """A conjunction of requirements; the empty selector matches everything."""

    requirements: tuple[Requirement, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.requirements


def _split_terms(text: str) -> list[str]:
    """Split on commas outside parentheses (`a in (x,y),b`)."""
    terms: list[str] = []
    depth = 0
    current = ""
    for char in text:
        depth += char == "("
        depth -= char == ")"
        if char == "," and depth == 0:
            terms.append(current)
            current = ""
        else:
            current += char
    terms.append(current)
    return [term for term in terms if term.strip()]


def parse_label_selector(text: str) -> Selector:
    requirements: list[Requirement] = []
    for term in _split_terms(text):
        if match := _SET_RE.match(term):
            values = frozenset(v.strip() for v in match.group(4).split(",") if v.strip())
            requirements.append(Requirement(match.group(2), match.group(3), values))
        elif match := _EQUALITY_RE.match(term):
            operator = "!=" if match.group(2) == "!=" else "="
            requirements.append(Requirement(match.group(1), operator, frozenset([match.group(3)])))
        elif match := _EXISTS_RE.match(term):
            operator = "!exists" if match.group(1) else "exists"
            requirements.append(Requirement(match.group(2), operator))
        else:
            raise status.bad_request(f"unable to parse requirement: {term!r}")
    return Selector(tuple(requirements))


def parse_field_selector(text: str) -> Selector:
    requirements: list[Requirement] = []
    for term in _split_terms(text):
        match = _EQUALITY_RE.match(term)
        if not match:
            raise status.bad_request(f"invalid selector: '{text}'; can't understand '{term}'")
        if match.group(1) not in FIELD_GETTERS:
            raise status.bad_request(f"field label not supported: {match.group(1)}")
        operator = "!=" if match.group(2) == "!=" else "="
        requirements.append(Requirement(match.group(1), operator, frozenset([match.group(3)])))
    return Selector(tuple(requirements))


def matches_labels(selector: Selector, obj: JSONObject) -> bool:
    labels = obj.get("metadata", {}).get("labels") or {}
    return all(r.matches(labels.get(r.key)) for r in selector.requirements)


def matches_fields(selector: Selector, obj: JSONObject) -> bool:
    return all(r.matches(FIELD_GETTERS[r.key](obj)) for r in selector.requirements)


@dataclass(frozen=True)
class ObjectFilter:
    """Both selectors of one request."""

    labels: Selector = Selector()
    fields: Selector = Selector()

    @property
    def empty(self) -> bool:
        return self.labels.empty and self.fields.empty

    def matches(self, obj: JSONObject) -> bool:
        return matches_labels(self.labels, obj) and matches_fields(self.fields, obj)
