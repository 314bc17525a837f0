"""The import direction between proxy's packages, read from the source (no module is imported).

serving -> routing/streams/ops/authn/authz -> upstream/credentials/kubeconfig -> root vocabulary;
proxy/testing (the fake API server) stands apart, so it shares no parser with the proxy.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PROXY = Path(__file__).resolve().parents[2] / "proxy"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PROXY.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_module(name: str) -> bool:
    path = PROXY.parent.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _imports(path: Path) -> Iterator[str]:
    """Every proxy module `path` imports (`from proxy.a import b` names proxy.a.b if a module)."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            assert not node.level, f"{path}: relative import"
            module = node.module or ""
            names = [f"{module}.{a.name}" if _is_module(f"{module}.{a.name}") else module
                     for a in node.names]
        else:
            continue
        yield from (name for name in names if name == "proxy" or name.startswith("proxy."))


def _edges() -> list[tuple[str, str]]:
    return sorted({(_module_name(path), imported)
                   for path in PROXY.rglob("*.py") for imported in _imports(path)})


def _package(module: str) -> str:
    """The layer a module belongs to: its package under proxy/, or "root" for proxy/*.py."""
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and _is_package(parts[1])) else "root"


def _is_package(name: str) -> bool:
    return (PROXY / name / "__init__.py").is_file()


EDGES = _edges()


def test_the_import_reader_sees_the_proxys_imports() -> None:
    assert ("proxy.streams.websocket_watch", "proxy.streams.race") in EDGES
    assert ("proxy.testing.decoding", "proxy.testing.protobuf") in EDGES
    assert {_package(module) for module, _ in EDGES} >= {"root", "serving", "testing"}


def test_the_fake_api_server_imports_no_other_proxy_module() -> None:
    outside = [(importer, imported) for importer, imported in EDGES
               if _package(importer) == "testing" and _package(imported) != "testing"]
    assert outside == []
