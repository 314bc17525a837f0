"""What the fake is not meant to match, each with its reason.

The fake serves everything a client of the proxy depends on; a case is out of scope
only where the fake cannot reasonably be that server (a kubelet behind a real node,
SPDY, etcd's own failures, the metrics exposition, real OpenAPI sizes). Rules describe
behaviours, so kept-back cases that test the same behaviour with other details are
judged the same way; OUT_OF_SCOPE names single cases that no rule covers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.corpus.corpus import Case


@dataclass(frozen=True)
class Rule:
    reason: str
    applies: Callable[[Case], bool]


def _path(case: Case) -> str:
    return str(case.request.get("path", "")).split("?", 1)[0]


def _header(case: Case, name: str) -> str:
    headers: dict[str, Any] = case.request.get("headers") or {}
    for key, value in headers.items():
        if key.lower() == name:
            return str(value)
    return ""


RULES: tuple[Rule, ...] = (
    Rule(
        "SPDY upgrades that succeed (kubectl's legacy exec/attach/port-forward protocol) need "
        "a kubelet behind a real node; the fake speaks WebSocket only (refusals before the "
        "upgrade are in scope)",
        lambda case: _header(case, "upgrade").lower().startswith("spdy")
        and case.raw.get("response", {}).get("status") == 101,
    ),
)

# case id -> reason, for what no behaviour rule covers.
OUT_OF_SCOPE: dict[str, str] = {
    "auth-ssrr-limited": (
        "the recorded cluster listed three non-resource rules for every authenticated user; "
        "kube-apiserver's bootstrap policy binds two to system:authenticated "
        "(system:discovery, system:public-info-viewer) and no recorded case shows what the "
        "third allowed, so the fake serves the bootstrap policy rather than a guess"
    ),
}


def reason_out_of_scope(case: Case) -> str | None:
    if case.id in OUT_OF_SCOPE:
        return OUT_OF_SCOPE[case.id]
    for rule in RULES:
        if rule.applies(case):
            return rule.reason
    return None
