"""Exec plugin settings are checked at start-up, with errors naming file and field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from proxy.credentials.exec_plugin import ExecPlugin, parse_exec_config
from proxy.errors import CredentialError, KubeconfigError
from proxy.kubeconfig.model import ClusterConfig, UserConfig

PLUGIN = str(Path(__file__).resolve().parents[2] / "data" / "exec_plugin.py")


def user(**exec_fields: Any) -> UserConfig:
    spec = {
        "apiVersion": "client.authentication.k8s.io/v1",
        "command": PLUGIN,
        "interactiveMode": "Never",
        **exec_fields,
    }
    return UserConfig(name="u", file="/home/me/.kube/config", exec=spec)


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        pytest.param(
            {"apiVersion": "client.authentication.k8s.io/v1alpha1"},
            "apiVersion",
            "must be one of",
            id="removed api version",
        ),
        pytest.param({"command": ""}, "command", "missing", id="no command"),
        pytest.param(
            {"interactiveMode": None},
            "interactiveMode",
            "requires it",
            id="v1 without interactiveMode",
        ),
        pytest.param(
            {"interactiveMode": "Always"},
            "interactiveMode",
            "without a terminal",
            id="interactive Always",
        ),
        pytest.param({"args": "--flag"}, "args", "list of strings", id="args not a list"),
        pytest.param({"env": [{"value": "x"}]}, "env[0]", "name and value", id="env without name"),
    ],
)
def test_bad_exec_settings(fields: dict[str, Any], field: str, message: str) -> None:
    with pytest.raises(KubeconfigError) as info:
        parse_exec_config(user(**fields))
    assert info.value.field == f"users[name=u].user.exec.{field}"
    assert info.value.file == "/home/me/.kube/config"
    assert message in str(info.value)


def test_missing_command_shows_the_install_hint() -> None:
    with pytest.raises(KubeconfigError) as info:
        parse_exec_config(
            user(command="no-such-auth-plugin", installHint="brew install no-such-auth-plugin")
        )
    assert "not found" in str(info.value)
    assert "brew install no-such-auth-plugin" in str(info.value)


def test_relative_command_is_relative_to_the_kubeconfig(tmp_path: Path) -> None:
    (tmp_path / "bin").mkdir()
    plugin = tmp_path / "bin" / "plugin"
    plugin.write_text("#!/bin/sh\n")
    plugin.chmod(0o755)
    config = parse_exec_config(
        UserConfig(
            name="u",
            file=str(tmp_path / "kubeconfig"),
            exec={"apiVersion": "client.authentication.k8s.io/v1beta1", "command": "./bin/plugin"},
        )
    )
    assert config.command == str(tmp_path / "./bin/plugin")


def test_exec_info_carries_the_cluster_only_when_asked() -> None:
    cluster = ClusterConfig(
        name="c",
        file="k",
        server="https://api:6443",
        certificate_authority_data=b"CA",
        tls_server_name="api.internal",
    )
    plain = ExecPlugin(parse_exec_config(user()), cluster=cluster).exec_info()
    assert plain == {
        "apiVersion": "client.authentication.k8s.io/v1",
        "kind": "ExecCredential",
        "spec": {"interactive": False},
    }
    told = ExecPlugin(parse_exec_config(user(provideClusterInfo=True)), cluster=cluster)
    info = json.loads(json.dumps(told.exec_info()))
    assert info["spec"]["cluster"] == {
        "server": "https://api:6443",
        "tls-server-name": "api.internal",
        "certificate-authority-data": "Q0E=",
    }


async def test_plugin_output_checked(tmp_path: Path) -> None:
    cluster = ClusterConfig(name="c", file="k", server="https://api:6443")
    (tmp_path / "mode").write_text("garbage")
    plugin = ExecPlugin(
        parse_exec_config(user(env=[{"name": "PLUGIN_STATE", "value": str(tmp_path)}])),
        cluster=cluster,
    )
    with pytest.raises(CredentialError) as info:
        await plugin.run()
    assert "not an ExecCredential" in str(info.value)
    assert "SECRET-GARBAGE" not in str(info.value)
