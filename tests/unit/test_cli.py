"""kubectl proxy's flags and defaults, parsed into a ProxyConfig."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from proxy.cli import build_parser, config_from_args
from proxy.config import DEFAULT_PATH_REJECT_RE, split_patterns
from proxy.errors import ConfigError
from proxy.options.values import parse_duration
from proxy.serving.eventloop import default_event_loop


def config(*argv: str, environ: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return config_from_args(build_parser().parse_args(list(argv)), environ or {})


def test_defaults_match_kubectl_proxy() -> None:
    cfg = config()
    assert (cfg.listen.address, cfg.listen.port, cfg.listen.unix_socket) == (
        "127.0.0.1",
        8001,
        None,
    )
    assert cfg.serve.api_prefix == "/" and cfg.serve.www_prefix == "/static/"
    assert cfg.serve.filter is not None
    assert cfg.serve.filter.reject_paths == split_patterns(DEFAULT_PATH_REJECT_RE)
    assert cfg.serve.filter.accept_hosts == ("^localhost$", r"^127\.0\.0\.1$", r"^\[::1\]$")


def test_kubectl_style_flags() -> None:
    cfg = config(
        "-p",
        "0",
        "--address=::1",
        "--api-prefix=/k8s",
        "--reject-paths=",
        "--keepalive",
        "30s",
        "--append-server-path=false",
        "--context",
        "prod",
    )
    assert cfg.listen.port == 0 and cfg.listen.address == "::1"
    assert cfg.serve.api_prefix == "/k8s/"
    assert cfg.serve.filter is not None and cfg.serve.filter.reject_paths == ()
    assert cfg.serve.keepalive == 30.0
    assert cfg.serve.append_server_path is False
    assert cfg.kubeconfig.context == "prod"


def test_disable_filter_as_go_bool() -> None:
    assert config("--disable-filter").serve.filter is None
    assert config("--disable-filter=false").serve.filter is not None


def test_kubeconfig_env_list(tmp_path: Path) -> None:
    cfg = config(environ={"KUBECONFIG": f"{tmp_path}/a:{tmp_path}/b", "HOME": str(tmp_path)})
    assert cfg.kubeconfig.env_paths == (tmp_path / "a", tmp_path / "b")
    assert cfg.kubeconfig.home_path == tmp_path / ".kube" / "config"


@pytest.mark.parametrize(
    ("text", "seconds"), [("0", 0), ("30s", 30), ("1m30s", 90), ("1.5h", 5400), ("250ms", 0.25)]
)
def test_go_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


def test_bad_duration_is_a_clear_error() -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="invalid duration"):
        parse_duration("ten")


def test_bad_port_exits_with_usage(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--port", "70000"])
    assert "invalid port" in capsys.readouterr().err


def test_api_prefix_must_be_a_path() -> None:
    with pytest.raises(ConfigError, match="--api-prefix"):
        config("--api-prefix", "api")


def test_www_must_be_a_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--www"):
        config("--www", str(tmp_path / "absent"))


HELP = Path(__file__).parent / "cli_help.txt"


def test_help_is_unchanged(monkeypatch: pytest.MonkeyPatch) -> None:
    """`kube-auth-proxy --help` at 80 columns; cli_help.txt is what users read."""
    monkeypatch.setenv("COLUMNS", "80")
    text = build_parser().format_help()
    # The event loop's default is whichever is installed; the file was written with uvloop.
    text = text.replace(f"(default {default_event_loop()}: uvloop", "(default uvloop: uvloop")
    assert text == HELP.read_text()
