"""How an option's text becomes its value, and the checks a parsed value must pass.

A parser raises `argparse.ArgumentTypeError` saying what the option accepts, so argparse
prints `argument -p/--port: invalid port 'x': a number 0-65535`, and the file and
environment loaders (`sources`) repeat the same words after the option's name.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from pathlib import Path

# Go's strconv.ParseBool, as kubectl's flags take them: nothing else is a boolean.
TRUE_WORDS = ("1", "t", "T", "TRUE", "true", "True")
FALSE_WORDS = ("0", "f", "F", "FALSE", "false", "False")

_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


class Refused(ValueError):
    """A parsed value the option does not accept; the message says what it needs."""


def parse_bool(value: str) -> bool:
    """Go's booleans: --flag, --flag=true, --flag=false (and 1/0, t/f, TRUE/FALSE, True/False)."""
    if value in TRUE_WORDS:
        return True
    if value in FALSE_WORDS:
        return False
    raise argparse.ArgumentTypeError(f"invalid boolean {value!r}: use true or false")


def parse_duration(value: str) -> float:
    """A Go duration ("30s", "1m30s", "0") in seconds, as kubectl's --keepalive takes it."""
    text = value.strip()
    if text in ("0", ""):
        return 0.0
    position, total = 0, 0.0
    while position < len(text):
        match = _DURATION_PART.match(text, position)
        if match is None:
            raise argparse.ArgumentTypeError(
                f"invalid duration {value!r}: use a number with a unit, e.g. 30s, 5m, 1h"
            )
        total += float(match.group(1)) * _DURATION_UNITS[match.group(2)]
        position = match.end()
    return total


def int_in_range(low: int, high: int | None, *, what: str, form: str) -> Callable[[str], int]:
    """A parser for whole numbers in [low, high], with kubectl-like messages."""

    def parse(value: str) -> int:
        try:
            number: int | None = int(value)
        except ValueError:
            number = None
        if number is None or number < low or (high is not None and number > high):
            raise argparse.ArgumentTypeError(f"invalid {what} {value!r}: {form}")
        return number

    return parse


parse_port = int_in_range(0, 65535, what="port", form="a number 0-65535")
positive_int = int_in_range(1, None, what="value", form="a whole number above 0")
non_negative_int = int_in_range(0, None, what="value", form="a whole number, 0 or more")


def non_negative_float(value: str) -> float:
    """A rate such as --authn-review-qps: a number, 0 or more."""
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not number >= 0 or number == float("inf"):
        raise argparse.ArgumentTypeError(f"invalid value {value!r}: a number, 0 or more")
    return number


def slashed(prefix: str) -> str:
    """A URL prefix, ending in a slash."""
    if not prefix.startswith("/"):
        raise Refused("must start with /")
    return prefix if prefix.endswith("/") else prefix + "/"


def existing_directory(path: Path) -> Path:
    if not path.is_dir():
        raise Refused("not a directory")
    return path


def whole_seconds(seconds: float) -> int:
    return int(seconds)
