"""The recorded corpus: cases and setup steps, merged into the order they were recorded in.

Setup steps run just before the case whose seq they name (or the first later one, when
that case was kept back); a concurrent group opens at its first case, and its
`during` steps run while it is open.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CORPUS_ENV = "KUBE_AUTH_PROXY_CORPUS"
DEFAULT_CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "apiserver-corpus"


def corpus_dir() -> Path:
    return Path(os.environ.get(CORPUS_ENV) or DEFAULT_CORPUS)


@dataclass(frozen=True)
class Case:
    raw: dict[str, Any]

    @property
    def id(self) -> str:
        return str(self.raw["id"])

    @property
    def seq(self) -> int:
        return int(self.raw["seq"])

    @property
    def family(self) -> str:
        return str(self.raw.get("family", ""))

    @property
    def request(self) -> dict[str, Any]:
        return dict(self.raw["request"])

    @property
    def response(self) -> dict[str, Any]:
        return dict(self.raw["response"])

    @property
    def group(self) -> str | None:
        return self.raw["request"].get("concurrent_group")

    @property
    def provides(self) -> dict[str, Any]:
        return dict(self.raw.get("provides") or {})

    @property
    def needed_for_state(self) -> bool:
        """Whether later cases depend on this one having been sent."""
        return bool(self.raw.get("mutates") or self.raw.get("provides"))


@dataclass(frozen=True)
class SetupStep:
    raw: dict[str, Any]

    @property
    def id(self) -> str:
        return f"step-{self.raw['step']}"

    @property
    def request(self) -> dict[str, Any]:
        return dict(self.raw["request"])

    @property
    def ok_status(self) -> tuple[int, ...]:
        return tuple(self.raw.get("ok_status") or (200, 201))

    @property
    def provides(self) -> dict[str, Any]:
        return dict(self.raw.get("provides") or {})

    @property
    def during(self) -> str | None:
        return self.raw.get("during")


@dataclass
class Group:
    """Cases opened together, and the setup steps that run while they are open."""

    name: str
    cases: list[Case] = field(default_factory=list)
    during: list[SetupStep] = field(default_factory=list)


PlanItem = SetupStep | Case | Group


@dataclass(frozen=True)
class Corpus:
    cases: tuple[Case, ...]
    setup: tuple[SetupStep, ...]

    def plan(self) -> list[PlanItem]:
        """Everything to do, in recording order."""
        groups: dict[str, Group] = {}
        for case in self.cases:
            if case.group is not None:
                groups.setdefault(case.group, Group(case.group)).cases.append(case)
        for step in self.setup:
            if step.during is not None and step.during in groups:
                groups[step.during].during.append(step)
        keyed: list[tuple[tuple[float, int, int], PlanItem]] = []
        for step in self.setup:
            if step.during is None:
                before = step.raw.get("before_seq")
                position = float(before) if before is not None else float("inf")
                keyed.append(((position, 0, int(step.raw["step"])), step))
        for case in self.cases:
            if case.group is None:
                keyed.append(((case.seq, 1, case.seq), case))
        for group in groups.values():
            first = min(case.seq for case in group.cases)
            keyed.append(((first, 1, first), group))
        keyed.sort(key=lambda pair: pair[0])
        return [item for _, item in keyed]

    @property
    def placeholder_sources(self) -> dict[str, str]:
        """Placeholder -> the case or step that provides it."""
        sources: dict[str, str] = {}
        for item in (*self.setup, *self.cases):
            for name in item.provides:
                sources.setdefault(name, item.id)
        return sources


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def load_corpus(directory: Path) -> Corpus:
    cases = sorted((Case(raw) for raw in _read_jsonl(directory / "cases.jsonl")),
                   key=lambda case: case.seq)
    setup = tuple(SetupStep(raw) for raw in _read_jsonl(directory / "setup.jsonl"))
    return Corpus(cases=tuple(cases), setup=setup)
