"""The command line: kubectl proxy's flags and defaults, turned into a `ProxyConfig`.

This is the only module that reads argv and the environment. The options themselves are
declared once, in `proxy.options.table`; the parser and the config are made from there.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from proxy import __version__
from proxy.config import (
    CorsConfig,
    CredentialConfig,
    FilterConfig,
    KubeconfigSource,
    LimitsConfig,
    ListenConfig,
    OperationsConfig,
    ProxyConfig,
    RuntimeConfig,
    SecurityConfig,
    ServeConfig,
)
from proxy.errors import ConfigError
from proxy.options.option import Option, validate
from proxy.options.sources import CONFIG_VARIABLE, read_config_file, values_from
from proxy.options.table import OPERATIONS, OPTIONS
from proxy.redact import redact
from proxy.serving.run import configure_logging, run

log = logging.getLogger("proxy")


def build_parser() -> argparse.ArgumentParser:
    """kubectl proxy's flags and ours, from the option table, grouped as declared."""
    parser = argparse.ArgumentParser(
        prog="kube-auth-proxy",
        description="Serve the Kubernetes API on localhost with your kubeconfig's credentials, "
        "verifying the API server's certificate. A drop-in for `kubectl proxy`.",
        allow_abbrev=False,
    )
    groups: dict[str, argparse._ArgumentGroup] = {}
    for option in OPTIONS:
        if option.group not in groups:
            groups[option.group] = parser.add_argument_group(option.group)
        flags = (*option.aliases, option.flag)
        groups[option.group].add_argument(*flags, **_argparse_keywords(option))
    groups[OPERATIONS].add_argument(
        "--version", action="version", version=f"kube-auth-proxy {__version__}"
    )
    return parser


def _argparse_keywords(option: Option) -> dict[str, Any]:
    keywords: dict[str, Any] = {"help": option.help}
    if option.dest is not None:
        keywords["dest"] = option.dest
    if option.form == "switch":
        return keywords | {"action": "store_true"}
    if option.form == "list":
        keywords |= {"action": "append", "default": list(option.default)}
    elif option.form == "bool":
        keywords |= {"nargs": "?", "const": True, "metavar": "BOOL", "default": option.default}
    else:
        keywords["default"] = option.default
    if option.parser is not None:
        keywords["type"] = option.parser
    if option.choices is not None:
        keywords["choices"] = option.choices
    if option.metavar is not None:
        keywords.setdefault("metavar", option.metavar)
    return keywords


def parse_options(argv: Sequence[str] | None, environ: dict[str, str]) -> argparse.Namespace:
    """Flags over KUBE_AUTH_PROXY_* variables over the --config file over the defaults."""
    parser = build_parser()
    first = argparse.ArgumentParser(add_help=False)
    first.add_argument("--config", type=Path, default=None)
    known, _ = first.parse_known_args(argv)
    path = known.config or (
        Path(environ[CONFIG_VARIABLE]) if environ.get(CONFIG_VARIABLE) else None
    )
    file = read_config_file(path) if path is not None else {}
    parser.set_defaults(**values_from(file, file_name=str(path), environ=environ))
    return parser.parse_args(argv)


def config_from_args(args: argparse.Namespace, environ: dict[str, str]) -> ProxyConfig:
    """Options → Complete → Validate: a `ProxyConfig`, or a `ConfigError` naming the flag."""
    fields: dict[str, dict[str, Any]] = defaultdict(dict)
    for option in OPTIONS:
        if option.fills is not None:
            section, name = option.fills.split(".")
            fields[section][name] = validate(option, getattr(args, option.key))
    filter_config = None if args.disable_filter else FilterConfig(**fields["filter"])
    cors = CorsConfig(**fields["cors"])
    return ProxyConfig(
        listen=ListenConfig(**fields["listen"]),
        serve=ServeConfig(**fields["serve"], filter=filter_config, cors=cors),
        kubeconfig=KubeconfigSource(**fields["kubeconfig"], **_kubeconfig_search(environ)),
        credentials=CredentialConfig(**fields["credentials"]),
        security=SecurityConfig(**fields["security"]),
        limits=LimitsConfig(**fields["limits"]),
        operations=OperationsConfig(**fields["operations"]),
        runtime=RuntimeConfig(**fields["runtime"]),
    )


def _kubeconfig_search(environ: dict[str, str]) -> dict[str, Any]:
    """Where to look without --kubeconfig: $KUBECONFIG's list, ~/.kube/config, the pod."""
    home = environ.get("HOME")
    return {
        "env_paths": tuple(Path(p) for p in environ.get("KUBECONFIG", "").split(os.pathsep) if p),
        "home_path": Path(home) / ".kube" / "config" if home else None,
        "service_host": environ.get("KUBERNETES_SERVICE_HOST"),
        "service_port": environ.get("KUBERNETES_SERVICE_PORT"),
    }


def main(argv: Sequence[str] | None = None) -> int:
    environ = dict(os.environ)
    try:
        args = parse_options(argv, environ)
        config = config_from_args(args, environ)
        configure_logging(
            args.verbosity,
            log_format=config.operations.log_format,
            access_log=config.operations.access_log
            if config.operations.access_log is not None
            else args.verbosity >= 1,
        )
        return run(config)
    except ConfigError as exc:
        print(f"error: {redact(str(exc))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
