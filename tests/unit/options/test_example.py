"""config/kube-auth-proxy.example.yaml comes from the table; `make config-example` writes it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from proxy.options.example import render_example
from proxy.options.sources import FILE_OPTIONS

ROOT = Path(__file__).resolve().parents[3]


def test_every_file_option_is_listed_with_its_default_commented_out() -> None:
    text = render_example()
    for name in FILE_OPTIONS:
        assert f"\n# {name}: " in text
    assert "\n# port: 8001\n" in text
    assert "\n# keepalive: 0s\n" in text
    assert "\n# as-group: []\n" in text
    assert "\n# token-expiration: 3600s\n" in text
    assert "80% of the lifetime" in text  # argparse's %% is a plain % here


def test_the_makefile_command_prints_the_example() -> None:
    printed = subprocess.run(
        [sys.executable, "-m", "proxy.options.example"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout
    assert printed == render_example()
    assert "$(BIN)/python -m proxy.options.example > config/kube-auth-proxy.example.yaml" in (
        ROOT / "Makefile"
    ).read_text()
