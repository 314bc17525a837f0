"""Option values: Go's booleans, bounded numbers, and the checks after parsing."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from proxy.options.values import (
    FALSE_WORDS,
    TRUE_WORDS,
    Refused,
    existing_directory,
    non_negative_float,
    parse_bool,
    parse_port,
    slashed,
)


@pytest.mark.parametrize("word", TRUE_WORDS)
def test_go_true_words_are_true(word: str) -> None:
    assert parse_bool(word) is True


@pytest.mark.parametrize("word", FALSE_WORDS)
def test_go_false_words_are_false(word: str) -> None:
    assert parse_bool(word) is False


@pytest.mark.parametrize("word", ["yes", "no", "on", "off", "tRUE", "", "2"])
def test_words_go_refuses_are_not_booleans(word: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match=r"invalid boolean .*: use true or false"):
        parse_bool(word)


def test_go_accepts_exactly_these_boolean_words() -> None:
    assert set(TRUE_WORDS) == {"1", "t", "T", "TRUE", "true", "True"}
    assert set(FALSE_WORDS) == {"0", "f", "F", "FALSE", "false", "False"}


@pytest.mark.parametrize("text", ["-1", "65536", "eighty"])
def test_anything_but_0_to_65535_is_not_a_port(text: str) -> None:
    message = f"invalid port '{text}': a number 0-65535"
    with pytest.raises(argparse.ArgumentTypeError, match=message):
        parse_port(text)


@pytest.mark.parametrize("text", ["-0.5", "inf", "nan", "fast"])
def test_rate_must_be_a_finite_number_0_or_more(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="a number, 0 or more"):
        non_negative_float(text)


def test_prefix_gains_its_trailing_slash() -> None:
    assert slashed("/k8s") == "/k8s/"
    assert slashed("/") == "/"


def test_prefix_without_leading_slash_is_refused() -> None:
    with pytest.raises(Refused, match="must start with /"):
        slashed("api")


def test_missing_directory_is_refused(tmp_path: Path) -> None:
    assert existing_directory(tmp_path) == tmp_path
    with pytest.raises(Refused, match="not a directory"):
        existing_directory(tmp_path / "absent")
