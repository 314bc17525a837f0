"""The result: medians of the rounds, ratios to kubectl proxy and to direct, a table and JSON."""

from __future__ import annotations

import json
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.peers import DIRECT, KUBECTL_PROXY

# One round: endpoint name -> metric key -> value (None when not measured).
Round = dict[str, dict[str, float | None]]


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    higher_is_better: bool
    digits: int = 1
    # Compare with another metric of the reference columns (WebSocket vs kubectl's chunked).
    reference_key: str | None = None


def stream_metrics(levels: Sequence[int], kinds: Sequence[str]) -> list[Metric]:
    metrics = []
    for level in levels:
        for kind in kinds:
            prefix = f"{kind}_{level}"
            ref = None if kind == "chunked" else f"chunked_{level}"
            label = f"{level:,} {kind} watches"
            metrics += [
                Metric(f"{prefix}_held", f"{label}: held", True, 0, ref and f"{ref}_held"),
                Metric(
                    f"{prefix}_kib_per_stream",
                    f"{label}: KiB per stream",
                    False,
                    1,
                    ref and f"{ref}_kib_per_stream",
                ),
                Metric(
                    f"{prefix}_upstream_conns",
                    f"{label}: upstream connections",
                    False,
                    0,
                    ref and f"{ref}_upstream_conns",
                ),
                Metric(
                    f"{prefix}_delay_p50_ms",
                    f"{label}: event delay p50 ms",
                    False,
                    2,
                    ref and f"{ref}_delay_p50_ms",
                ),
                Metric(
                    f"{prefix}_delay_p99_ms",
                    f"{label}: event delay p99 ms",
                    False,
                    2,
                    ref and f"{ref}_delay_p99_ms",
                ),
            ]
    return metrics


REQUEST_METRICS = [
    Metric("small_rps", "1 KB GET req/s", True, 0),
    Metric("small_p50_ms", "1 KB GET p50 ms", False, 2),
    Metric("small_p99_ms", "1 KB GET p99 ms", False, 2),
    Metric("small_cpu_per_1k", "1 KB GET proxy CPU s per 1,000 req", False, 3),
    Metric("list_rps", "1 MB GET req/s", True, 0),
    Metric("list_p50_ms", "1 MB GET p50 ms", False, 1),
    Metric("list_p99_ms", "1 MB GET p99 ms", False, 1),
    Metric("list_cpu_per_1k", "1 MB GET proxy CPU s per 1,000 req", False, 2),
    Metric("large_mbps", "50 MB GET MB/s", True, 0),
    Metric("large_rss_growth_mib", "50 MB GET peak RSS growth MiB", False, 1),
    Metric("startup_ms", "start-up to first 200, ms", False, 0),
]


def medians(rounds: Sequence[Round]) -> dict[str, dict[str, float | None]]:
    """Per endpoint and metric, the median over the rounds that measured it."""
    merged: dict[str, dict[str, list[float]]] = {}
    for one in rounds:
        for endpoint, values in one.items():
            for key, value in values.items():
                bucket = merged.setdefault(endpoint, {}).setdefault(key, [])
                if value is not None:
                    bucket.append(value)
    return {
        endpoint: {key: statistics.median(v) if v else None for key, v in values.items()}
        for endpoint, values in merged.items()
    }


def ratio(value: float | None, reference: float | None) -> float | None:
    if value is None or reference is None or reference == 0:
        return None
    return value / reference


def _number(value: float | None, digits: int) -> str:
    if value is None:
        return "—"
    return f"{value:,.{digits}f}"


def _times(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}x"


def build_rows(
    summary: dict[str, dict[str, float | None]], metrics: Sequence[Metric], subjects: Sequence[str]
) -> list[list[str]]:
    """One row per metric: direct, kubectl proxy, then each subject with its two ratios."""
    direct = summary.get(DIRECT, {})
    kubectl = summary.get(KUBECTL_PROXY, {})
    rows = []
    for metric in metrics:
        ref_key = metric.reference_key or metric.key
        row = [
            metric.label + (" ↑" if metric.higher_is_better else " ↓"),
            _number(direct.get(metric.key), metric.digits),
            _number(kubectl.get(metric.key), metric.digits),
        ]
        for subject in subjects:
            value = summary.get(subject, {}).get(metric.key)
            row += [
                _number(value, metric.digits),
                _times(ratio(value, kubectl.get(ref_key))),
                _times(ratio(value, direct.get(ref_key))),
            ]
        if any(cell != "—" for cell in row[1:]):
            rows.append(row)
    return rows


def render_table(
    summary: dict[str, dict[str, float | None]], metrics: Sequence[Metric], subjects: Sequence[str]
) -> str:
    """A Markdown table, readable as it is in a terminal."""
    header = ["figure (↑ higher is better, ↓ lower)", DIRECT, KUBECTL_PROXY]
    for subject in subjects:
        header += [subject, "x kubectl", "x direct"]
    rows = [header, *build_rows(summary, metrics, subjects)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        padded = [
            cell.ljust(width) if i == 0 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ]
        return "| " + " | ".join(padded) + " |"

    rule = (
        "|"
        + "|".join("-" * (w + 1) + ":" if i else ":" + "-" * (w + 1) for i, w in enumerate(widths))
        + "|"
    )
    return "\n".join([line(rows[0]), rule, *(line(row) for row in rows[1:])])


def write_json(path: Path, document: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    return path
