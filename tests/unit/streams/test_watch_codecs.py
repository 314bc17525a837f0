"""Watch streams split into events and framed again, JSON and protobuf, with no server."""

from __future__ import annotations

import json
import struct

import pytest

from proxy.streams.watch_codecs import (
    JSONWatchCodec,
    ProtobufWatchCodec,
    codec_for,
    decode_protobuf_event,
    encode_protobuf_error,
)


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _field(number: int, value: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(value)) + value


def protobuf_event(event_type: str, kind: str, version: str) -> bytes:
    """A WatchEvent as the API server encodes one: ObjectMeta (or a Table's ListMeta)."""
    if kind == "Table":
        metadata = _field(2, version.encode())
    else:
        metadata = _field(1, b"name") + _field(6, version.encode())
    obj = _field(1, metadata)
    unknown = _field(1, _field(1, b"v1") + _field(2, kind.encode())) + _field(2, obj)
    return _field(1, event_type.encode()) + _field(2, _field(1, b"k8s\x00" + unknown))


def framed(message: bytes) -> bytes:
    return struct.pack(">I", len(message)) + message


def test_json_events_split_across_chunks_keep_their_newline() -> None:
    codec = JSONWatchCodec()
    stream = (
        b'{"type":"ADDED","object":{"metadata":{"resourceVersion":"7"}}}\n'
        b'{"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"9"}}}\n'
    )
    events = [e for i in range(len(stream)) for e in codec.feed(stream[i : i + 1])]
    assert [(e.type, e.resource_version) for e in events] == [("ADDED", "7"), ("BOOKMARK", "9")]
    assert b"".join(e.data for e in events) == stream
    assert codec.frame(events[0]) == events[0].data


def test_json_error_event_carries_its_status_code() -> None:
    codec = JSONWatchCodec()
    line = b'{"type":"ERROR","object":{"kind":"Status","code":410,"reason":"Expired"}}\n'
    (event,) = codec.feed(line)
    assert (event.type, event.code, event.resource_version) == ("ERROR", 410, None)


def test_json_error_event_made_by_the_proxy_is_one_line() -> None:
    event = JSONWatchCodec().error_event({"kind": "Status", "code": 503})
    assert event.data.endswith(b"\n") and event.data.count(b"\n") == 1
    assert json.loads(event.data) == {"type": "ERROR", "object": {"kind": "Status", "code": 503}}


def test_json_stream_that_is_not_json_is_an_error() -> None:
    with pytest.raises(ValueError, match="not JSON"):
        JSONWatchCodec().feed(b"<html>\n")


def test_protobuf_frames_lose_their_length_prefix_and_keep_their_versions() -> None:
    messages = [
        protobuf_event("ADDED", "ConfigMap", "41"),
        protobuf_event("MODIFIED", "Table", "42"),
    ]
    stream = b"".join(framed(m) for m in messages)
    codec = ProtobufWatchCodec()
    events = [e for i in range(0, len(stream), 3) for e in codec.feed(stream[i : i + 3])]
    assert [(e.type, e.resource_version) for e in events] == [("ADDED", "41"), ("MODIFIED", "42")]
    assert [e.data for e in events] == messages, "one WebSocket message: no length prefix"
    assert b"".join(codec.frame(e) for e in events) == stream, "chunked: prefix restored"


def test_protobuf_error_event_round_trips_with_its_code() -> None:
    status = {"status": "Failure", "message": "too old", "reason": "Expired", "code": 410}
    encoded = encode_protobuf_error(status)
    event = decode_protobuf_event(encoded)
    assert (event.type, event.code) == ("ERROR", 410)
    assert b"too old" in encoded and b"Status" in encoded
    assert ProtobufWatchCodec().error_event(status).data == encoded


def test_protobuf_without_envelope_is_an_error() -> None:
    with pytest.raises(ValueError, match="protobuf"):
        decode_protobuf_event(_field(1, b"ADDED") + _field(2, _field(1, b"no magic")))


@pytest.mark.parametrize(
    ("content_type", "is_text"),
    [
        pytest.param("application/json", True, id="json is text"),
        pytest.param("application/json;as=Table;g=meta.k8s.io;v=v1", True, id="tables are text"),
        pytest.param("application/vnd.kubernetes.protobuf;stream=watch", False, id="protobuf"),
        pytest.param("", True, id="unspecified is json"),
    ],
)
def test_codec_follows_the_upstream_content_type(content_type: str, is_text: bool) -> None:
    assert codec_for(content_type).is_text is is_text
