"""`--config FILE` and `KUBE_AUTH_PROXY_*`: the same options as the flags, from elsewhere.

Precedence: a flag on the command line, then the environment, then the file,
then the built-in default. Keys are the flags' long names without dashes
(`accept-hosts: ^localhost$`); environment variables are those names upper-cased
with underscores (`KUBE_AUTH_PROXY_ACCEPT_HOSTS`). A value that does not parse
is refused at start-up, naming the option and what it accepts. A null in the file
leaves the option at its default.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from proxy.errors import ConfigError
from proxy.options.option import ENV_PREFIX, Option
from proxy.options.table import OPTIONS
from proxy.options.values import parse_duration

CONFIG_VARIABLE = ENV_PREFIX + "CONFIG"
# --config names the file, so the file cannot set it (its variable is read beside the flag).
FILE_OPTIONS = {option.name: option for option in OPTIONS if option.name != "config"}


def read_config_file(path: Path) -> Mapping[str, Any]:
    import yaml  # only when a --config file is read: start-up pays for what is used

    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"--config {path}: {(exc.strerror or str(exc)).lower()}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"--config {path}: not valid YAML: {exc}") from None
    if document is None:
        return {}
    if not isinstance(document, Mapping):
        raise ConfigError(f"--config {path}: must be a mapping of option names to values")
    return document


def values_from(
    file: Mapping[str, Any], *, file_name: str, environ: Mapping[str, str]
) -> dict[str, Any]:
    """Option key -> value from the file, then the environment (which wins), as parsed."""
    values: dict[str, Any] = {}
    for name, value in file.items():
        option = FILE_OPTIONS.get(str(name))
        if option is None:
            raise ConfigError(f"--config {file_name}: unknown option {name!r} "
                              "(the keys are the flags' long names without dashes)")
        if value is not None:
            values[option.key] = read(option, value, where=f"--config {file_name}: {name}")
    for option in FILE_OPTIONS.values():
        if option.variable in environ:
            text = environ[option.variable]
            values[option.key] = read(
                option, text.split(",") if option.form == "list" else text, where=option.variable
            )
    return values


def read(option: Option, value: Any, *, where: str) -> Any:
    """A file or environment value as the flag would have parsed it."""
    if option.form == "list":
        items = value if isinstance(value, list) else [value]
        return [_one(option, item, where) for item in items if item is not None and item != ""]
    return _one(option, value, where)


def _one(option: Option, value: Any, where: str) -> Any:
    if isinstance(value, bool):
        if option.form in ("bool", "switch"):
            return value
        value = "true" if value else "false"
    if option.parse is parse_duration and isinstance(value, int | float):
        return float(value)  # a bare number in the file: seconds
    if isinstance(value, list | dict):
        raise ConfigError(f"{where}: expected a single value, not a {type(value).__name__}")
    parse = option.parser
    try:
        parsed = parse(str(value)) if parse is not None else str(value)
    except (argparse.ArgumentTypeError, ValueError) as exc:
        raise ConfigError(f"{where}: {str(exc) or f'expected {option.metavar}'}") from None
    if option.choices is not None and parsed not in option.choices:
        raise ConfigError(f"{where}: {value!r} is not one of {', '.join(option.choices)}")
    return parsed
