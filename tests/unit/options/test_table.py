"""One declaration per option makes the flag, the file key, the variable and the config field."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, get_args

import pytest

from proxy.cli import build_parser, config_from_args, parse_options
from proxy.config import CorsConfig, EventLoop, FilterConfig, ProxyConfig, RuntimeConfig
from proxy.options.option import Option
from proxy.options.table import OPTIONS
from proxy.options.values import parse_duration
from proxy.serving.eventloop import EVENT_LOOPS, default_event_loop

FILLED = [option for option in OPTIONS if option.fills is not None]
# Fields no option fills: made from other options or the environment, or not a flag at all.
DERIVED = {
    "serve.filter",  # the four pattern options, or None with --disable-filter
    "serve.cors",  # --cors-allowed-origins and --insecure-allow-any-cors-origin
    "serve.connect_timeout",
    "kubeconfig.env_paths",  # $KUBECONFIG
    "kubeconfig.home_path",  # $HOME
    "kubeconfig.service_host",  # $KUBERNETES_SERVICE_HOST
    "kubeconfig.service_port",  # $KUBERNETES_SERVICE_PORT
}


def field_paths() -> set[str]:
    paths = set()
    for section in dataclasses.fields(ProxyConfig):
        section_type = type(getattr(ProxyConfig(), section.name))
        paths |= {f"{section.name}.{f.name}" for f in dataclasses.fields(section_type)}
    paths |= {f"filter.{f.name}" for f in dataclasses.fields(FilterConfig)}
    paths |= {f"cors.{f.name}" for f in dataclasses.fields(CorsConfig)}
    return paths


def field_of(config: ProxyConfig, fills: str) -> Any:
    section, name = fills.split(".")
    if section in ("filter", "cors"):
        return getattr(getattr(config.serve, section), name)
    return getattr(getattr(config, section), name)


def sample(option: Option, directory: Path) -> str:
    """A value the option accepts that is not its default."""
    if option.form in ("bool", "switch"):
        return "false" if option.default else "true"
    if option.choices is not None:
        return next(choice for choice in option.choices if choice != option.default)
    if option.parse is parse_duration:
        return "7s"
    if option.parse is Path:
        return str(directory)
    if option.parse is not None:
        return "2"
    return "/sample/"


def test_every_config_field_is_filled_by_one_option_or_derived() -> None:
    filled = [option.fills for option in FILLED]
    assert len(filled) == len(set(filled)), "two options fill one field"
    assert not set(filled) & DERIVED
    assert set(filled) | DERIVED == field_paths()


def test_no_flags_gives_the_config_dataclasses_defaults() -> None:
    config = config_from_args(build_parser().parse_args([]), {})
    assert config == ProxyConfig(runtime=RuntimeConfig(event_loop=default_event_loop()))


@pytest.mark.parametrize("option", FILLED, ids=lambda option: option.flag)
def test_flag_file_and_variable_fill_the_same_field(option: Option, tmp_path: Path) -> None:
    text = sample(option, tmp_path)
    if text == "uvloop" and default_event_loop() != "uvloop":
        pytest.skip("uvloop is not installed")
    argv = [option.flag] if option.form == "switch" else [f"{option.flag}={text}"]
    file = tmp_path / "proxy.yaml"
    file.write_text(f"{option.name}: '{text}'\n")
    from_flag = config_from_args(parse_options(argv, {}), {})
    from_file = config_from_args(parse_options(["--config", str(file)], {}), {})
    from_variable = config_from_args(parse_options([], {option.variable: text}), {})
    assert option.fills is not None
    value = field_of(from_flag, option.fills)
    assert value != field_of(config_from_args(parse_options([], {}), {}), option.fills)
    assert field_of(from_file, option.fills) == value
    assert field_of(from_variable, option.fills) == value


@pytest.mark.parametrize("option", OPTIONS, ids=lambda option: option.flag)
def test_every_option_is_a_flag_with_its_declared_default(option: Option) -> None:
    actions = {action.dest: action for action in build_parser()._actions}
    action = actions[option.key]
    assert action.option_strings == [*option.aliases, option.flag]
    expected = list(option.default) if option.form == "list" else option.default
    assert action.default == expected


def test_kubectl_proxys_short_flags() -> None:
    shorts = {alias: option.flag for option in OPTIONS for alias in option.aliases}
    assert shorts == {"-p": "--port", "-u": "--unix-socket", "-w": "--www",
                      "-P": "--www-prefix", "-v": "--v"}


def test_the_event_loop_choices_are_the_loops_the_runner_knows() -> None:
    assert get_args(EventLoop) == EVENT_LOOPS
