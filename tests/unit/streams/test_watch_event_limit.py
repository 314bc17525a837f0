"""A watch event is held while it arrives: never more than `max_event_bytes` of it."""

from __future__ import annotations

import struct

import pytest

from proxy.streams.watch_codecs import EventTooLargeError, JSONWatchCodec, ProtobufWatchCodec

LIMIT = 64 * 1024
CHUNK = b"x" * 4096


def test_json_line_without_end_refused_once_past_the_limit_and_freed() -> None:
    codec = JSONWatchCodec(max_event_bytes=LIMIT)
    fed = 0
    with pytest.raises(EventTooLargeError, match="--max-watch-event-bytes"):
        codec.feed(b'{"type":"ADDED","object":{"metadata":{"name":"')
        while fed < 100 * LIMIT:
            codec.feed(CHUNK)
            fed += len(CHUNK)
    assert fed <= LIMIT, "refused as soon as the held bytes passed the limit"
    assert codec.held_bytes == 0, "the held bytes are freed"


def test_json_line_over_the_limit_refused_even_when_it_arrives_whole() -> None:
    codec = JSONWatchCodec(max_event_bytes=LIMIT)
    with pytest.raises(EventTooLargeError):
        codec.feed(b'{"type":"ADDED","object":{"data":"' + b"x" * LIMIT + b'"}}\n')


def test_json_events_at_the_limit_pass() -> None:
    line = b'{"type":"ADDED","object":{"metadata":{"resourceVersion":"5"},"data":"'
    line += b"x" * (LIMIT - len(line) - 3) + b'"}}'
    assert len(line) == LIMIT
    codec = JSONWatchCodec(max_event_bytes=LIMIT)
    stream = line + b"\n"
    events = [e for i in range(0, len(stream), 1000) for e in codec.feed(stream[i : i + 1000])]
    assert [(e.type, e.resource_version) for e in events] == [("ADDED", "5")]


def test_json_limit_zero_means_none() -> None:
    codec = JSONWatchCodec(max_event_bytes=0)
    assert codec.feed(b"x" * (4 * LIMIT)) == []


def test_protobuf_length_over_the_limit_refused_before_its_bytes_arrive() -> None:
    codec = ProtobufWatchCodec(max_event_bytes=LIMIT)
    with pytest.raises(EventTooLargeError):
        codec.feed(struct.pack(">I", 0xFFFF_FFFF) + b"\x0a")
    assert codec.held_bytes == 0
