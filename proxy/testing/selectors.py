"""labelSelector and fieldSelector parsing and matching, as list and watch apply them.

Label selectors follow k8s.io/apimachinery/pkg/labels: a lexer, `key`, `!key`, `=`,
`==`, `!=`, `in (...)`, `notin (...)`, `>` and `<` with integers, keys and values
validated. Field selectors follow pkg/fields: terms of `=`, `==` or `!=` only, and each
kind supports its own fields (400 for any other).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from proxy.testing import status
from proxy.testing.kinds import NAMESPACES, NODES, PODS, SECRETS, ResourceKind
from proxy.testing.status import JSONObject

Getter = Callable[[JSONObject], str]


def _get(*path: str) -> Getter:
    def getter(obj: JSONObject) -> str:
        node: object = obj
        for part in path:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, bool):
            return "true" if node else "false"
        return "" if node is None else str(node)

    return getter


_META_FIELDS: Mapping[str, Getter] = {
    "metadata.name": _get("metadata", "name"),
    "metadata.namespace": _get("metadata", "namespace"),
}
# Kinds with their own field selectors (the rest: only metadata.name and metadata.namespace).
_KIND_FIELDS: Mapping[str, Mapping[str, Getter]] = {
    PODS.plural: {
        **_META_FIELDS,
        **{f"spec.{f}": _get("spec", f) for f in (
            "nodeName", "restartPolicy", "schedulerName", "serviceAccountName", "hostNetwork")},
        **{f"status.{f}": _get("status", f) for f in ("phase", "podIP", "nominatedNodeName")},
    },
    SECRETS.plural: {**_META_FIELDS, "type": _get("type")},
    NAMESPACES.plural: {"metadata.name": _get("metadata", "name"),
                        "status.phase": _get("status", "phase")},
    NODES.plural: {"metadata.name": _get("metadata", "name"),
                   "spec.unschedulable": _get("spec", "unschedulable")},
}


def field_getters(kind: ResourceKind | None) -> Mapping[str, Getter]:
    if kind is None:
        return {**_META_FIELDS, **{k: v for f in _KIND_FIELDS.values() for k, v in f.items()}}
    return _KIND_FIELDS.get(kind.plural, _META_FIELDS)


@dataclass(frozen=True)
class Requirement:
    key: str
    operator: str  # "=", "!=", "in", "notin", "exists", "!exists", "gt", "lt"
    values: frozenset[str] = frozenset()
    getter: Getter | None = None  # field selectors: how to read the field

    def matches(self, value: str | None) -> bool:
        if self.operator == "exists":
            return value is not None
        if self.operator == "!exists":
            return value is None
        if self.operator in ("=", "in"):
            return value is not None and value in self.values
        if self.operator in ("gt", "lt"):
            if value is None or not re.fullmatch(r"-?\d+", value):
                return False
            bound = int(next(iter(self.values)))
            return int(value) > bound if self.operator == "gt" else int(value) < bound
        return value is None or value not in self.values


@dataclass(frozen=True)
class Selector:
    """A conjunction of requirements; the empty selector matches everything."""

    requirements: tuple[Requirement, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.requirements


# --- label selectors -------------------------------------------------------------------

_SPECIAL = " \t\r\n(),!=<>"
_QUALIFIED = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")


def _tokens(text: str) -> list[str]:
    tokens: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char in " \t\r\n":
            i += 1
        elif char in "(),<>":
            tokens.append(char)
            i += 1
        elif char in "!=":
            pair = text[i : i + 2]
            if pair in ("==", "!="):
                tokens.append(pair)
                i += 2
            else:
                tokens.append(char)
                i += 1
        else:
            start = i
            while i < len(text) and text[i] not in _SPECIAL:
                i += 1
            tokens.append(text[start:i])
    return tokens


def _bad_label(message: str) -> status.APIError:
    return status.bad_request(f"unable to parse requirement: {message}")


def _check_key(key: str) -> None:
    prefix, _, name = key.rpartition("/")
    if prefix and not (len(prefix) <= 253 and _DNS_SUBDOMAIN.fullmatch(prefix)):
        raise _bad_label(f'values[0][{key}]: Invalid value: "{key}": prefix part must be a '
                         "lowercase RFC 1123 subdomain")
    if not name or len(name) > 63 or not _QUALIFIED.fullmatch(name):
        raise _bad_label(f'key: Invalid value: "{key}": name part must consist of alphanumeric '
                         "characters, '-', '_' or '.', and must start and end with an "
                         "alphanumeric character")


def _check_value(key: str, value: str) -> None:
    if len(value) > 63 or not _LABEL_VALUE.fullmatch(value):
        raise _bad_label(f'values[0][{key}]: Invalid value: "{value}": a valid label must be '
                         "an empty string or consist of alphanumeric characters, '-', '_' or "
                         "'.', and must start and end with an alphanumeric character")


class _LabelParser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.pos = 0

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> str | None:
        token = self.peek()
        self.pos += 1
        return token

    def identifier(self, what: str) -> str:
        token = self.take()
        if token is None or token in ("(", ")", ",", "!", "=", "==", "!=", "<", ">"):
            raise status.bad_request(f"found '{token or 'EOS'}', expected: {what}")
        return token

    def requirement(self) -> Requirement:
        if self.peek() == "!":
            self.take()
            key = self.identifier("identifier after '!'")
            _check_key(key)
            return Requirement(key, "!exists")
        key = self.identifier("identifier")
        _check_key(key)
        operator = self.peek()
        if operator in (None, ","):
            return Requirement(key, "exists")
        self.take()
        if operator in ("=", "==", "!="):
            following = self.peek()
            empty = following is None or following in (",", ")")
            value = "" if empty else self.identifier("identifier")
            _check_value(key, value)
            return Requirement(key, "!=" if operator == "!=" else "=", frozenset([value]))
        if operator in ("<", ">"):
            value = self.identifier("integer")
            if not re.fullmatch(r"-?\d+", value):
                raise _bad_label("for 'Gt', 'Lt' operators, the value must be an integer")
            return Requirement(key, "gt" if operator == ">" else "lt", frozenset([value]))
        if operator in ("in", "notin"):
            return Requirement(key, operator, frozenset(self.value_set(key)))
        raise status.bad_request(
            f"found '{operator}', expected: in, notin, =, ==, !=, gt, lt")

    def value_set(self, key: str) -> list[str]:
        opening = self.take()
        if opening != "(":
            raise status.bad_request(f"found '{opening or 'EOS'}', expected: '('")
        values: list[str] = []
        while True:
            token = self.take()
            if token is None:
                raise status.bad_request("found 'EOS', expected: ')'")
            if token == ")":
                return values
            if token == ",":
                continue
            _check_value(key, token)
            values.append(token)

    def parse(self) -> Selector:
        requirements: list[Requirement] = []
        while self.peek() is not None:
            requirements.append(self.requirement())
            token = self.take()
            if token is None:
                break
            if token != ",":
                raise status.bad_request(f"found '{token}', expected: ',' or 'end of string'")
            if self.peek() is None:
                raise status.bad_request("found 'EOS', expected: identifier")
        return Selector(tuple(requirements))


def parse_label_selector(text: str) -> Selector:
    return _LabelParser(text).parse()


# --- field selectors -------------------------------------------------------------------


def _split_terms(text: str) -> list[str]:
    """Split on unescaped commas (fields.ParseSelector allows `\\,` in values)."""
    terms, current, escaped = [], "", False
    for char in text:
        if escaped:
            current += char
            escaped = False
        elif char == "\\":
            current += char
            escaped = True
        elif char == ",":
            terms.append(current)
            current = ""
        else:
            current += char
    terms.append(current)
    return terms


def _unescape(value: str) -> str:
    return re.sub(r"\\(.)", r"\1", value)


def parse_field_selector(text: str, *, kind: ResourceKind | None = None) -> Selector:
    getters = field_getters(kind)
    requirements: list[Requirement] = []
    if not text:
        return Selector()
    for term in _split_terms(text):
        if not term:
            continue
        for operator in ("!=", "==", "="):
            if operator in term:
                key, _, value = term.partition(operator)
                break
        else:
            raise status.bad_request(f"invalid selector: '{text}'; can't understand '{term}'")
        getter = getters.get(key)
        if getter is None:
            if getters is _META_FIELDS:
                raise status.bad_request(
                    f'"{key}" is not a known field selector: only "metadata.name", '
                    '"metadata.namespace"'
                )
            raise status.bad_request(f"field label not supported: {key}")
        requirements.append(Requirement(
            key, "!=" if operator == "!=" else "=", frozenset([_unescape(value)]), getter))
    return Selector(tuple(requirements))


def matches_labels(selector: Selector, obj: JSONObject) -> bool:
    labels = obj.get("metadata", {}).get("labels") or {}
    return all(r.matches(labels.get(r.key)) for r in selector.requirements)


def matches_fields(selector: Selector, obj: JSONObject) -> bool:
    return all(r.matches(r.getter(obj) if r.getter else None) for r in selector.requirements)


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
