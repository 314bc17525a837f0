"""Sanitising before forwarding: hop-by-hop and client identity never reach the upstream."""

from __future__ import annotations

from proxy.headers import outbound_request_headers, outbound_response_headers


def test_hop_by_hop_headers_dropped() -> None:
    out = outbound_request_headers(
        [
            ("Connection", "keep-alive"),
            ("Keep-Alive", "300"),
            ("TE", "trailers"),
            ("Transfer-Encoding", "chunked"),
            ("Upgrade", "h2c"),
            ("Proxy-Authorization", "x"),
            ("Accept", "application/json"),
        ],
        keep_content_length=False,
    )
    assert list(out.items()) == [("Accept", "application/json")]


def test_headers_named_in_connection_dropped() -> None:
    out = outbound_request_headers(
        [("Connection", "close, X-Secret-Hop"), ("X-Secret-Hop", "1"), ("X-Keep", "1")],
        keep_content_length=False,
    )
    assert "X-Secret-Hop" not in out and out["X-Keep"] == "1"


def test_client_identity_headers_dropped() -> None:
    out = outbound_request_headers(
        [
            ("Authorization", "Bearer client"),
            ("authorization", "Basic x"),
            ("Impersonate-User", "admin"),
            ("Impersonate-Group", "system:masters"),
            ("Impersonate-Uid", "1"),
            ("Impersonate-Extra-Scopes", "all"),
            ("X-Remote-User", "admin"),
            ("X-Remote-Group", "system:masters"),
            ("User-Agent", "kubectl/v1.32"),
        ],
        keep_content_length=False,
    )
    assert list(out.keys()) == ["User-Agent"]


def test_host_dropped_content_length_kept_when_streaming() -> None:
    inbound = [("Host", "localhost:8001"), ("Content-Length", "12"), ("Expect", "100-continue")]
    assert list(outbound_request_headers(inbound, keep_content_length=True).items()) == [
        ("Content-Length", "12")
    ]


def test_response_headers_keep_end_to_end_ones() -> None:
    out = outbound_response_headers(
        [
            ("Content-Type", "application/json"),
            ("Audit-Id", "abc"),
            ("Connection", "close"),
            ("Transfer-Encoding", "chunked"),
            ("Content-Length", "5"),
        ]
    )
    assert list(out.keys()) == ["Content-Type", "Audit-Id", "Content-Length"]
