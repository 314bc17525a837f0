"""config/kube-auth-proxy.example.yaml, made from the option table.

`python -m proxy.options.example` prints it (`make config-example` writes the file), and a
test fails when the checked-in file differs.
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path
from typing import Any

import yaml

from proxy.options.option import Option
from proxy.options.sources import FILE_OPTIONS
from proxy.options.values import parse_duration

HEADER = (
    "# kube-auth-proxy configuration: every option, with its default.",
    "# Use with `kube-auth-proxy --config FILE`. Flags override the file; the environment",
    "# (KUBE_AUTH_PROXY_<OPTION>, e.g. KUBE_AUTH_PROXY_ACCEPT_HOSTS) overrides it too.",
    "# Generated from the flags: `make config-example` rewrites it.",
)


def render_example() -> str:
    """Every option, its help and its default, commented out, grouped as in --help."""
    lines = list(HEADER)
    group = None
    for option in FILE_OPTIONS.values():
        if option.group != group:
            group = option.group
            lines += ["", f"# --- {group} ---"]
        help_text = option.help.replace("%(default)s", str(option.default)).replace("%%", "%")
        lines.extend(f"# {line}" for line in textwrap.wrap(help_text, 96))
        lines.append(f"# {option.name}: {_shown(option)}")
    return "\n".join(lines) + "\n"


def _shown(option: Option) -> str:
    value: Any = option.default
    if option.parse is parse_duration and isinstance(value, float):
        return f"{value:g}s"
    if option.form == "list":
        return "[]"
    if isinstance(value, Path):
        value = str(value)
    return str(yaml.safe_dump(value, default_flow_style=True)).strip().removesuffix("...").strip()


if __name__ == "__main__":
    sys.stdout.write(render_example())
