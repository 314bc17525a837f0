"""`--config FILE` and `KUBE_AUTH_PROXY_*`: the same options as the flags, from elsewhere.

Precedence: a flag on the command line, then the environment, then the file,
then the built-in default. Keys are the flags' long names without dashes
(`accept-hosts: ^localhost$`); environment variables are those names upper-cased
with underscores (`KUBE_AUTH_PROXY_ACCEPT_HOSTS`). A value that does not parse
is refused at start-up, naming the option and what it accepts.
"""

from __future__ import annotations

import argparse
import textwrap
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

from proxy.errors import ConfigError

ENV_PREFIX = "KUBE_AUTH_PROXY_"
_NOT_OPTIONS = {"help", "version", "config"}


def long_options(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    """Option name (without dashes) -> its action, for every long flag."""
    options = {}
    for action in parser._actions:
        for flag in action.option_strings:
            if flag.startswith("--") and flag[2:] not in _NOT_OPTIONS:
                options[flag[2:]] = action
                break
    return options


def read_config_file(path: Path) -> Mapping[str, Any]:
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


def apply_defaults(
    parser: argparse.ArgumentParser,
    *,
    file: Mapping[str, Any],
    file_name: str,
    environ: Mapping[str, str],
) -> None:
    """Set the parser's defaults from the file, then the environment (which wins)."""
    options = long_options(parser)
    defaults: dict[str, Any] = {}
    for key, value in file.items():
        action = options.get(str(key))
        if action is None:
            raise ConfigError(f"--config {file_name}: unknown option {key!r} "
                              "(the keys are the flags' long names without dashes)")
        defaults[action.dest] = convert(action, value, where=f"--config {file_name}: {key}")
    for name, action in options.items():
        variable = ENV_PREFIX + name.upper().replace("-", "_")
        if variable in environ:
            defaults[action.dest] = convert(action, environ[variable], where=variable,
                                            from_environment=True)
    parser.set_defaults(**defaults)


def convert(action: argparse.Action, value: Any, *, where: str,
            from_environment: bool = False) -> Any:
    """A file or environment value as the flag would have parsed it."""
    if isinstance(action, argparse._AppendAction):
        items = (value.split(",") if from_environment and isinstance(value, str)
                 else value if isinstance(value, list) else [value])
        return [_one(action, item, where) for item in items if str(item) != ""]
    if isinstance(action, argparse._StoreTrueAction):
        if isinstance(value, bool):
            return value
        return _parse(lambda text: _bool(text), value, where, "true or false")
    return _one(action, value, where)


def _one(action: argparse.Action, value: Any, where: str) -> Any:
    kind: Callable[[str], Any] | None = action.type  # type: ignore[assignment]
    if value is None:
        return None
    if kind is not None and getattr(kind, "__name__", "") == "parse_duration" and isinstance(
        value, int | float
    ) and not isinstance(value, bool):
        return float(value)  # a bare number in the file: seconds
    if isinstance(value, bool):
        value = "true" if value else "false"
    if isinstance(value, list | dict):
        raise ConfigError(f"{where}: expected a single value, not a {type(value).__name__}")
    converted = _parse(kind, value, where, action.metavar or "") if kind else str(value)
    if action.choices is not None and converted not in action.choices:
        raise ConfigError(f"{where}: {value!r} is not one of {', '.join(map(str, action.choices))}")
    return converted


def _parse(kind: Callable[[str], Any], value: Any, where: str, form: Any) -> Any:
    try:
        return kind(str(value))
    except (argparse.ArgumentTypeError, ValueError) as exc:
        message = str(exc) or f"expected {form}"
        raise ConfigError(f"{where}: {message}") from None


def _bool(text: str) -> bool:
    lowered = text.lower()
    if lowered in ("1", "t", "true", "yes"):
        return True
    if lowered in ("0", "f", "false", "no"):
        return False
    raise ValueError(f"invalid boolean {text!r}: use true or false")


def render_example(parser: argparse.ArgumentParser) -> str:
    """The example config file: every option, its default, and its help, grouped as in --help."""
    lines = [
        "# kube-auth-proxy configuration: every option, with its default.",
        "# Use with `kube-auth-proxy --config FILE`. Flags override the file; the environment",
        "# (KUBE_AUTH_PROXY_<OPTION>, e.g. KUBE_AUTH_PROXY_ACCEPT_HOSTS) overrides it too.",
        "# Generated from the flags: `make config-example` rewrites it.",
    ]
    options = {id(a): name for name, a in long_options(parser).items()}
    for group in parser._action_groups:
        actions = [a for a in group._group_actions if id(a) in options]
        if not actions:
            continue
        lines += ["", f"# --- {group.title} ---"]
        for action in actions:
            help_text = (action.help or "").replace("%(default)s", str(action.default))
            help_text = help_text.replace("%%", "%")
            lines.extend(f"# {line}" for line in textwrap.wrap(help_text, 96))
            lines.append(f"# {options[id(action)]}: {_render(action)}")
    return "\n".join(lines) + "\n"


def _render(action: argparse.Action) -> str:
    value = action.default
    if getattr(action.type, "__name__", "") == "parse_duration" and isinstance(value, float):
        return f"{value:g}s"
    if isinstance(value, list):
        return "[]"
    if isinstance(value, Path):
        value = str(value)
    return yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("...").strip()
