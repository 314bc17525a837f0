"""An answer broken off after its head: the client's connection is aborted, and it is noted."""

from __future__ import annotations

from unittest import mock

import pytest
from aiohttp.test_utils import make_mocked_request

from proxy.exchange import EXCHANGE, UPSTREAM_CLOSED, Exchange
from proxy.streams.truncation import abort_truncated


def test_truncated_answer_aborts_the_client_and_notes_the_upstream(
    caplog: pytest.LogCaptureFixture,
) -> None:
    transport = mock.Mock()
    request = make_mocked_request("GET", "/api/v1/pods", transport=transport)
    exchange = Exchange()
    request[EXCHANGE] = exchange
    abort_truncated(request, "the API server broke off the response: ClientPayloadError")
    transport.abort.assert_called_once_with()
    assert exchange.outcome == UPSTREAM_CLOSED
    assert "GET /api/v1/pods: the API server broke off the response" in caplog.text
