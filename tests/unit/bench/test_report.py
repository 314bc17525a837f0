"""The bench table: medians of the rounds and ratios to kubectl proxy and to direct."""

from __future__ import annotations

from bench.peers import DIRECT, KUBECTL_PROXY
from bench.report import Metric, build_rows, medians, ratio, render_table, stream_metrics

KAP = "kube-auth-proxy"
RPS = Metric("small_rps", "1 KB GET req/s", True, 0)


def test_medians_skip_rounds_that_did_not_measure() -> None:
    rounds = [
        {KAP: {"small_rps": 100.0, "x": None}},
        {KAP: {"small_rps": 300.0, "x": 5.0}},
        {KAP: {"small_rps": 200.0, "x": None}},
    ]
    assert medians(rounds) == {KAP: {"small_rps": 200.0, "x": 5.0}}


def test_ratio_without_reference_is_none() -> None:
    assert ratio(2.0, 4.0) == 0.5
    assert ratio(2.0, None) is None
    assert ratio(None, 4.0) is None
    assert ratio(2.0, 0.0) is None


def test_rows_hold_values_and_both_ratios() -> None:
    summary = {
        DIRECT: {"small_rps": 20000.0},
        KUBECTL_PROXY: {"small_rps": 5000.0},
        KAP: {"small_rps": 6000.0},
    }
    (row,) = build_rows(summary, [RPS], [KAP])
    assert row == ["1 KB GET req/s ↑", "20,000", "5,000", "6,000", "1.20x", "0.30x"]


def test_rows_never_measured_are_left_out() -> None:
    summary: dict[str, dict[str, float | None]] = {KAP: {"small_rps": None}}
    assert build_rows(summary, [RPS], [KAP]) == []


def test_websocket_rows_compare_with_kubectl_chunked_streams() -> None:
    metrics = {m.key: m for m in stream_metrics([2000], ["chunked", "websocket"])}
    summary = {
        KUBECTL_PROXY: {"chunked_2000_kib_per_stream": 50.0},
        KAP: {"websocket_2000_kib_per_stream": 40.0},
    }
    (row,) = build_rows(summary, [metrics["websocket_2000_kib_per_stream"]], [KAP])
    assert row[4] == "0.80x"


def test_table_is_markdown_with_one_line_per_row() -> None:
    summary = {DIRECT: {"small_rps": 2.0}, KUBECTL_PROXY: {"small_rps": 1.0}, KAP: {}}
    lines = render_table(summary, [RPS], [KAP]).splitlines()
    assert len(lines) == 3
    assert all(line.startswith("|") and line.endswith("|") for line in lines)
    assert lines[1].startswith("|:-")
