"""One option's declaration, and `validate`: the one check a parsed value passes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from proxy.errors import ConfigError
from proxy.options.values import Refused, parse_bool

ENV_PREFIX = "KUBE_AUTH_PROXY_"

# How the flag is written:
#   value:  --port 8001
#   bool:   a Go boolean, --reload, --reload=false (metavar BOOL)
#   switch: --in-cluster alone (true in a file or variable sets it too)
#   list:   --as-group qa --as-group ops (a list in a file, commas in a variable)
Form = Literal["value", "bool", "switch", "list"]


@dataclass(frozen=True)
class Option:
    """A flag, its file key and variable, its value's type, default and checks, and its field.

    `fills` is "<section>.<field>" of `ProxyConfig` (sections `filter` and `cors` sit in
    `serve`); None when the CLI itself reads the value (--config, -v, --disable-filter).
    `parse` turns text into the value (None: the text as it is) and raises
    `argparse.ArgumentTypeError` saying what it accepts. `accept` runs after parsing,
    whatever the source: it returns the value as its field takes it or raises `Refused`.
    """

    flag: str
    help: str
    group: str
    fills: str | None
    default: Any = None
    parse: Callable[[str], Any] | None = None
    choices: tuple[str, ...] | None = None
    form: Form = "value"
    aliases: tuple[str, ...] = ()
    metavar: str | None = None
    dest: str | None = None
    accept: Callable[[Any], Any] | None = None

    @property
    def name(self) -> str:
        """The key in a config file: the long flag without its dashes."""
        return self.flag.removeprefix("--")

    @property
    def variable(self) -> str:
        return ENV_PREFIX + self.name.upper().replace("-", "_")

    @property
    def key(self) -> str:
        """The attribute argparse stores the value under."""
        return self.dest or self.name.replace("-", "_")

    @property
    def parser(self) -> Callable[[str], Any] | None:
        return parse_bool if self.form in ("bool", "switch") else self.parse


def validate(option: Option, value: Any) -> Any:
    """The parsed value as its config field takes it, or a ConfigError naming the option."""
    if option.form == "list":
        value = tuple(value)
    if option.accept is None or value is None:
        return value
    try:
        return option.accept(value)
    except Refused as exc:
        shown = repr(str(value)) if isinstance(value, Path) else repr(value)
        raise ConfigError(f"{option.flag} {shown}: {exc}") from None
