"""--config FILE and KUBE_AUTH_PROXY_*: precedence, conversion, errors, the example file."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from proxy.cli import build_parser, config_from_args, parse_options
from proxy.errors import ConfigError
from proxy.options.example import render_example

EXAMPLE = Path(__file__).resolve().parents[3] / "config" / "kube-auth-proxy.example.yaml"


def options(tmp_path: Path, content: str, *argv: str, **environ: str):  # type: ignore[no-untyped-def]
    path = tmp_path / "proxy.yaml"
    path.write_text(content)
    args = parse_options(["--config", str(path), *argv], dict(environ))
    return config_from_args(args, dict(environ))


def test_flag_over_environment_over_file(tmp_path: Path) -> None:
    assert options(tmp_path, "port: 9000\n").listen.port == 9000
    assert options(tmp_path, "port: 9000\n", KUBE_AUTH_PROXY_PORT="9001").listen.port == 9001
    assert (
        options(tmp_path, "port: 9000\n", "--port", "9002", KUBE_AUTH_PROXY_PORT="9001").listen.port
        == 9002
    )


def test_typed_values_from_file_and_environment(tmp_path: Path) -> None:
    config = options(
        tmp_path,
        "as-group: [qa, ops]\nkeepalive: 45\nshutdown-grace: 1m\ndisable-filter: true\n"
        "all-contexts: true\nauthn: tokenreview\n",
        KUBE_AUTH_PROXY_TOKEN_AUDIENCE="a,b",
    )
    assert config.credentials.impersonate_groups == ("qa", "ops")
    assert config.credentials.token_audiences == ("a", "b")
    assert config.serve.keepalive == 45.0
    assert config.operations.shutdown_grace == 60.0
    assert config.serve.filter is None
    assert config.operations.all_contexts is True
    assert config.security.authn == "tokenreview"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param("port: eighty\n", "port: invalid port 'eighty'", id="bad port"),
        pytest.param(
            "authn: magic\n", "authn: 'magic' is not one of none, tokenreview", id="bad choice"
        ),
        pytest.param("keepalive: soon\n", "keepalive: invalid duration", id="bad duration"),
        pytest.param("in-cluster: maybe\n", "in-cluster: invalid boolean", id="bad boolean"),
        pytest.param("prot: 80\n", "unknown option 'prot'", id="unknown option"),
        pytest.param("- port\n", "must be a mapping", id="not a mapping"),
        pytest.param("port: [1, 2]\n", "port: expected a single value", id="list for a scalar"),
    ],
)
def test_bad_values_name_the_option(tmp_path: Path, content: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        options(tmp_path, content)
    assert message in str(info.value)
    assert "proxy.yaml" in str(info.value)


def test_bad_environment_value_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="KUBE_AUTH_PROXY_PORT: invalid port"):
        parse_options([], {"KUBE_AUTH_PROXY_PORT": "x"})


def test_example_file_is_current_and_lists_every_option() -> None:
    text = EXAMPLE.read_text()
    assert text == render_example(), "run `make config-example`"
    for name in long_options(build_parser()):
        assert f"\n# {name}: " in text


def long_options(parser: argparse.ArgumentParser) -> list[str]:
    """Each flag's long name without dashes, but --help, --version and --config."""
    names = []
    for action in parser._actions:
        long = [flag[2:] for flag in action.option_strings if flag.startswith("--")]
        if long and long[0] not in ("help", "version", "config"):
            names.append(long[0])
    return names


def test_help_groups_the_flags() -> None:
    titles = [group.title for group in build_parser()._action_groups]
    for title in (
        "kubectl proxy's flags (same names, same defaults)",
        "kubeconfig",
        "credentials",
        "listener",
        "security",
        "operations",
    ):
        assert title in titles
