"""--config FILE and KUBE_AUTH_PROXY_*: the booleans, nulls and keys the table allows."""

from __future__ import annotations

from pathlib import Path

import pytest

from proxy.cli import config_from_args, parse_options
from proxy.config import ProxyConfig
from proxy.errors import ConfigError


def from_file(tmp_path: Path, content: str) -> ProxyConfig:
    path = tmp_path / "proxy.yaml"
    path.write_text(content)
    return config_from_args(parse_options(["--config", str(path)], {}), {})


def from_environment(**environ: str) -> ProxyConfig:
    return config_from_args(parse_options([], environ), environ)


@pytest.mark.parametrize("word", ["1", "t", "T", "TRUE", "true", "True"])
def test_go_true_words_set_switches_and_booleans_from_the_environment(word: str) -> None:
    config = from_environment(KUBE_AUTH_PROXY_IN_CLUSTER=word, KUBE_AUTH_PROXY_WATCH_RESUME=word)
    assert config.kubeconfig.in_cluster is True
    assert config.serve.watch_resume is True


@pytest.mark.parametrize("variable", ["KUBE_AUTH_PROXY_IN_CLUSTER", "KUBE_AUTH_PROXY_RELOAD"])
def test_yes_is_not_a_boolean_in_a_variable(variable: str) -> None:
    with pytest.raises(ConfigError, match=f"{variable}: invalid boolean 'yes': use true or false"):
        from_environment(**{variable: "yes"})


def test_quoted_yes_is_not_a_boolean_in_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="in-cluster: invalid boolean 'yes'"):
        from_file(tmp_path, "in-cluster: 'yes'\n")


def test_yaml_booleans_in_the_file_are_booleans(tmp_path: Path) -> None:
    config = from_file(tmp_path, "in-cluster: true\nreload: false\naccess-log: 1\n")
    assert config.kubeconfig.in_cluster is True
    assert config.operations.reload is False
    assert config.operations.access_log is True


def test_null_in_the_file_leaves_the_default(tmp_path: Path) -> None:
    config = from_file(tmp_path, "port: null\nunix-socket: null\nas-group: null\n")
    assert (config.listen.port, config.listen.unix_socket) == (8001, None)
    assert config.credentials.impersonate_groups == ()


def test_the_file_cannot_name_another_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown option 'config'"):
        from_file(tmp_path, "config: other.yaml\n")


def test_file_named_by_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "proxy.yaml"
    path.write_text("port: 9000\n")
    environ = {"KUBE_AUTH_PROXY_CONFIG": str(path)}
    assert config_from_args(parse_options([], environ), environ).listen.port == 9000


def test_unreadable_file_names_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"--config .*absent\.yaml: no such file"):
        parse_options(["--config", str(tmp_path / "absent.yaml")], {})
