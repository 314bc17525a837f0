"""Reading wrk's output: the bench's figures come from here (no wrk is run)."""

from __future__ import annotations

import pytest

from bench.load import WrkOutputError, parse_wrk

WRK_OUTPUT = """\
Running 5s test @ http://127.0.0.1:8001/api/v1/namespaces/bench/configmaps/small
  2 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     3.61ms    1.88ms  41.73ms   91.02%
    Req/Sec     7.03k   512.34     8.01k    72.00%
  Latency Distribution
     50%    3.28ms
     75%    4.01ms
     90%    5.02ms
     99%  950.00us
  69979 requests in 5.00s, 94.41MB read
  Non-2xx or 3xx responses: 12
  Socket errors: connect 0, read 2, write 0, timeout 1
Requests/sec:  13994.12
Transfer/sec:     18.88MB
"""


def test_parse_wrk_reads_rate_percentiles_and_errors() -> None:
    result = parse_wrk(WRK_OUTPUT)
    assert result.requests == 69979
    assert result.seconds == pytest.approx(5.0)
    assert result.requests_per_second == pytest.approx(13994.12)
    assert result.p50_ms == pytest.approx(3.28)
    assert result.p99_ms == pytest.approx(0.95)  # microseconds converted
    assert (result.non_2xx, result.socket_errors) == (12, 3)


def test_parse_wrk_seconds_unit() -> None:
    text = WRK_OUTPUT.replace("99%  950.00us", "99%    1.20s")
    assert parse_wrk(text).p99_ms == pytest.approx(1200.0)


def test_parse_wrk_clean_run_has_no_errors() -> None:
    lines = [line for line in WRK_OUTPUT.splitlines() if "Non-2xx" not in line]
    lines = [line for line in lines if "Socket errors" not in line]
    result = parse_wrk("\n".join(lines))
    assert (result.non_2xx, result.socket_errors) == (0, 0)


def test_parse_wrk_without_latency_distribution_is_an_error() -> None:
    text = "\n".join(line for line in WRK_OUTPUT.splitlines() if "%" not in line)
    with pytest.raises(WrkOutputError):
        parse_wrk(text)
