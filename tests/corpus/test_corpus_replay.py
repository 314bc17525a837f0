"""Every recorded kube-apiserver case, replayed against the fake: one test per case.

The cases are stateful, so the whole corpus is replayed once, in recording order,
by a module fixture; each test then asserts its own case's comparison. The corpus
is read from $KUBE_AUTH_PROXY_CORPUS (default ../shared/apiserver-corpus).
"""

from __future__ import annotations

import asyncio
import json

import pytest

from tests.corpus.corpus import CORPUS_ENV, Corpus, corpus_dir, load_corpus
from tests.corpus.replay import Replay, replay_corpus

CORPUS_DIR = corpus_dir()
CORPUS: Corpus | None = (
    load_corpus(CORPUS_DIR) if (CORPUS_DIR / "cases.jsonl").is_file() else None
)
NO_CORPUS = pytest.param(
    None,
    marks=pytest.mark.skip(reason=f"no corpus at {CORPUS_DIR} (set {CORPUS_ENV})"),
    id="no-corpus",
)


def _case_params() -> list[object]:
    if CORPUS is None:
        return [NO_CORPUS]
    return [pytest.param(case.id, id=case.id) for case in CORPUS.cases]


def _step_params() -> list[object]:
    if CORPUS is None:
        return [NO_CORPUS]
    return [pytest.param(step.id, id=step.id) for step in CORPUS.setup]


@pytest.fixture(scope="module")
def replayed() -> Replay:
    assert CORPUS is not None
    return asyncio.run(replay_corpus(CORPUS))


def _explain(about: str, problems: list[str], summary: object) -> str:
    lines = [about, *(f"  - {problem}" for problem in problems)]
    lines.append("  fake's reply: " + json.dumps(summary, default=str)[:1500])
    return "\n".join(lines)


@pytest.mark.parametrize("step_id", _step_params())
def test_setup_step_succeeds(step_id: str, replayed: Replay) -> None:
    outcome = replayed.setup[step_id]
    assert not outcome.problems, _explain(step_id, outcome.problems, outcome.summary)


@pytest.mark.parametrize("case_id", _case_params())
def test_case_matches_recording(case_id: str, replayed: Replay) -> None:
    assert CORPUS is not None
    outcome = replayed.cases[case_id]
    if outcome.skipped:
        pytest.skip(f"out of scope: {outcome.skipped}")
    case = next(case for case in CORPUS.cases if case.id == case_id)
    assert not outcome.problems, _explain(case.raw["about"], outcome.problems, outcome.summary)
