"""--log-format json: one object per line, with the request's fields on access lines."""

from __future__ import annotations

import json
import logging

from proxy.serving.run import JSONFormatter


def test_json_lines() -> None:
    record = logging.LogRecord("proxy.access", logging.INFO, __file__, 1, "GET / %d", (200,), None)
    record.http = {"method": "GET", "code": 200}
    entry = json.loads(JSONFormatter().format(record))
    assert entry["message"] == "GET / 200"
    assert (entry["level"], entry["logger"], entry["method"], entry["code"]) == (
        "info",
        "proxy.access",
        "GET",
        200,
    )
    assert "T" in entry["time"]
