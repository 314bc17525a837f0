"""`validate`: the one check of a parsed value, naming the option and what it accepts."""

from __future__ import annotations

from pathlib import Path

import pytest

from proxy.errors import ConfigError
from proxy.options.option import Option, validate
from proxy.options.values import existing_directory, slashed


def option(**fields: object) -> Option:
    return Option("--api-prefix", help="", group="g", fills="serve.api_prefix", **fields)  # type: ignore[arg-type]


def test_accepted_value_comes_back_as_its_field_takes_it() -> None:
    assert validate(option(accept=slashed), "/k8s") == "/k8s/"


def test_refused_value_names_the_flag_the_value_and_the_reason() -> None:
    with pytest.raises(ConfigError) as info:
        validate(option(accept=slashed), "api")
    assert str(info.value) == "--api-prefix 'api': must start with /"


def test_refused_path_is_shown_as_written(tmp_path: Path) -> None:
    absent = tmp_path / "absent"
    with pytest.raises(ConfigError) as info:
        validate(option(accept=existing_directory), absent)
    assert str(info.value) == f"--api-prefix '{absent}': not a directory"


def test_repeated_values_become_a_tuple() -> None:
    assert validate(option(form="list"), ["qa", "ops"]) == ("qa", "ops")


def test_unset_value_is_not_checked() -> None:
    assert validate(option(accept=slashed), None) is None


def test_names_for_files_variables_and_argparse() -> None:
    as_group = Option("--as-group", help="", group="g", fills=None, dest="as_groups")
    assert (as_group.name, as_group.variable, as_group.key) == (
        "as-group", "KUBE_AUTH_PROXY_AS_GROUP", "as_groups",
    )
