"""The proxy's protobuf wire reader and writer, checked against each other and the fake's reader."""

from __future__ import annotations

import pytest

from proxy.streams.protobuf import (
    bytes_field,
    encode_varint,
    iter_fields,
    length_delimited_fields,
    read_varint,
    varint_field,
)
from proxy.testing import protobuf as fake_reader


@pytest.mark.parametrize("value", [0, 1, 127, 128, 300, 2**32, 2**63 - 1])
def test_varint_written_is_read_back(value: int) -> None:
    encoded = encode_varint(value)
    assert read_varint(encoded, 0) == (value, len(encoded))


def test_fields_written_are_read_back_in_order() -> None:
    message = bytes_field(1, b"ADDED") + varint_field(6, 410) + bytes_field(2, b"")
    assert list(iter_fields(message)) == [(1, 2, b"ADDED"), (6, 0, 410), (2, 2, b"")]
    assert length_delimited_fields(message) == {1: b"ADDED", 2: b""}


def test_the_fakes_own_reader_agrees_with_the_proxys_writer() -> None:
    message = bytes_field(3, b"default") + varint_field(4, 1)
    assert list(fake_reader.iter_fields(message)) == [(3, b"default"), (4, 1)]


@pytest.mark.parametrize("message", [
    pytest.param(b"\x0a\x05ADD", id="field shorter than its length"),
    pytest.param(b"\x30\x80", id="varint without its last byte"),
    pytest.param(b"\x0b", id="group wire type"),
])
def test_truncated_or_unsupported_input_is_an_error(message: bytes) -> None:
    with pytest.raises(ValueError):
        list(iter_fields(message))
    with pytest.raises(ValueError):
        list(fake_reader.iter_fields(message))
