"""The replay harness itself: plan order, placeholders, generated bodies, summaries and the
comparison rules, so a harness bug cannot pass or fail fake cases silently."""

from __future__ import annotations

import struct

from tests.corpus import protobuf
from tests.corpus.compare import compare
from tests.corpus.corpus import Case, Corpus, Group, SetupStep
from tests.corpus.placeholders import fill, generate_body, pattern_for
from tests.corpus.summary import summarise
from tests.corpus.wire import WireResponse


def _case(seq: int, *, group: str | None = None) -> Case:
    request = {"method": "GET", "path": "/", **({"concurrent_group": group} if group else {})}
    return Case({"id": f"c{seq}", "seq": seq, "request": request, "response": {}})


def _step(step: int, **where: object) -> SetupStep:
    return SetupStep({"step": step, "request": {"method": "GET", "path": "/"}, **where})


def test_plan_runs_setup_before_the_next_recorded_case_when_its_case_was_kept_back() -> None:
    corpus = Corpus(
        cases=(_case(0, group="g"), _case(2, group="g"), _case(10), _case(12)),
        setup=(_step(0, before_seq=0), _step(1, during="g"), _step(2, before_seq=11)),
    )
    plan = corpus.plan()
    kinds = [type(item).__name__ for item in plan]
    assert kinds == ["SetupStep", "Group", "Case", "SetupStep", "Case"]
    group = plan[1]
    assert isinstance(group, Group)
    assert [c.seq for c in group.cases] == [0, 2] and group.during[0].id == "step-1"
    assert [getattr(item, "id", "") for item in plan[2:]] == ["c10", "step-2", "c12"]


def test_fill_adds_to_a_provided_resource_version() -> None:
    values = {"<ns>": "corpus-abc123", "<rv>": "41", "<list-rv>": "7"}
    assert fill("/ns/<ns>?rv=<rv+1000000>&l=<list-rv+1>", values) == (
        "/ns/corpus-abc123?rv=1000041&l=8"
    )


def test_generated_body_has_the_recorded_size() -> None:
    recipe = {
        "recipe": "ConfigMap JSON named l-big-1, labels big=yes, whose data.blob is "
        "'abcdefghij' repeated 6,000 times",
        "bytes": 60122,
    }
    assert len(generate_body(recipe, {})) == 60122


def test_recorded_placeholders_match_real_values_only() -> None:
    values = {"<ns>": "corpus-abc123"}
    assert pattern_for("gen-<random>", values).fullmatch("gen-x7k2p")
    assert not pattern_for("gen-<random>", values).fullmatch("gen-")
    assert pattern_for('namespaces "<ns>-missing" not found', values).fullmatch(
        'namespaces "corpus-abc123-missing" not found'
    )


def _watch(types: list[str], bookmarks: list[dict[str, object]], after: int) -> dict[str, object]:
    return {
        "status": 200, "content_type": "application/json",
        "watch": {"event_types": types, "event_names": [None] * len(types),
                  "bookmarks": bookmarks, "end": {"by": "server", "after_s": after}},
    }


def test_compare_skips_periodic_bookmarks_only_when_the_recording_says_they_vary() -> None:
    initial = {"initial_events_end": True}
    want = _watch(["BOOKMARK", "BOOKMARK"], [initial, {"initial_events_end": False}], 8)
    got = _watch(["BOOKMARK"], [initial], 8)
    assert compare(want, got, values={}, nondeterministic="the number of BOOKMARKs") == []
    assert compare(want, got, values={}) != []


def test_compare_allows_one_second_on_the_end_of_a_stream() -> None:
    want, late = _watch([], [], 8), _watch([], [], 10)
    assert compare(want, _watch([], [], 9), values={}) == []
    assert compare(want, late, values={}) == ["watch end.after_s: want 8±1, got 10"]


def _field(number: int, payload: bytes) -> bytes:
    return bytes([number << 3 | 2, len(payload)]) + payload


def test_protobuf_status_is_read_from_the_envelope() -> None:
    status = _field(2, b"Failure") + _field(4, b"NotFound") + bytes([6 << 3, 0x94, 0x03])
    body = protobuf.MAGIC + _field(1, _field(1, b"v1") + _field(2, b"Status")) + _field(2, status)
    response = WireResponse(
        status=404, headers=[("content-type", "application/vnd.kubernetes.protobuf")],
        body=body, pieces=[(0.0, body)], end_how="content-length",
    )
    summary = summarise(response, stream=False, websocket=False)
    assert (summary["kind"], summary["reason"], summary["code"]) == ("Status", "NotFound", 404)


def test_protobuf_watch_frames_are_length_prefixed() -> None:
    meta = _field(1, _field(1, b"w1"))
    obj = protobuf.MAGIC + _field(1, _field(1, b"v1") + _field(2, b"ConfigMap")) + _field(2, meta)
    event = _field(1, b"ADDED") + _field(2, _field(1, obj))
    frames = struct.pack("!I", len(event)) + event
    assert list(protobuf.watch_frames(frames)) == [("ADDED", "ConfigMap", "w1")]
