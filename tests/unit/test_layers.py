"""The import direction between proxy's packages, read from the source (no module is imported).

    entry            the command line (cli.py, __main__.py, options/): may import anything
    serving          may import anything but the entry
    routing, streams, ops, authn, authz
                     may import upstream, credentials, kubeconfig, routing and the root
                     (proxy/*.py: config, errors, status, identity, clock, files, headers,
                     redact, exchange, aiohttp_internals); streams, authn and authz never
                     import one another
    upstream, credentials, kubeconfig
                     never import serving, routing, streams, ops, authn or authz
    testing          the fake API server: imports no other proxy module, and no proxy module
                     imports it, so it shares no parser with the proxy
    root             imports only the root
Only the entry and serving import serving.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PROXY = Path(__file__).resolve().parents[2] / "proxy"

MIDDLE = frozenset({"routing", "streams", "ops", "authn", "authz"})
LOWER = frozenset({"upstream", "credentials", "kubeconfig"})
SIDEWAYS = frozenset({"streams", "authn", "authz"})
ROOT = "root"
ENTRY = "entry"
_ENTRY_MODULES = frozenset({"proxy.cli", "proxy.__main__"})

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


def _layer(module: str) -> str:
    """The package under proxy/ a module belongs to; "entry" for the command line, "root" for
    the other proxy/*.py."""
    parts = module.split(".")
    package = parts[1] if len(parts) > 1 else ""
    if package == "options" or module in _ENTRY_MODULES:
        return ENTRY
    if not (PROXY / package / "__init__.py").is_file():
        return ROOT
    return package


EDGES = sorted({(_module_name(path), imported)
                for path in PROXY.rglob("*.py") for imported in _imports(path)})


def _breaking(allowed: dict[str, frozenset[str]]) -> list[tuple[str, str]]:
    """Imports whose importer's layer is in `allowed` and whose target's layer is not."""
    return [(importer, imported) for importer, imported in EDGES
            if _layer(importer) in allowed
            and _layer(imported) not in allowed[_layer(importer)] | {_layer(importer)}]


def test_the_import_reader_sees_the_proxys_imports() -> None:
    assert ("proxy.streams.websocket_watch", "proxy.streams.race") in EDGES
    assert ("proxy.testing.decoding", "proxy.testing.protobuf") in EDGES
    assert {_layer(module) for module, _ in EDGES} >= MIDDLE | LOWER | {ROOT, "serving"}


def test_middle_layers_import_only_routing_the_lower_layers_and_the_root() -> None:
    below = LOWER | {"routing", ROOT}
    assert _breaking({layer: below for layer in MIDDLE}) == []


def test_streams_authn_and_authz_never_import_one_another() -> None:
    sideways = [(importer, imported) for importer, imported in EDGES
                if _layer(importer) in SIDEWAYS
                and _layer(imported) in SIDEWAYS - {_layer(importer)}]
    assert sideways == []


def test_lower_layers_never_import_the_layers_above() -> None:
    assert _breaking({layer: LOWER | {ROOT} for layer in LOWER}) == []


def test_only_serving_imports_serving() -> None:
    outside = [(importer, imported) for importer, imported in EDGES
               if _layer(imported) == "serving" and _layer(importer) not in {"serving", ENTRY}]
    assert outside == []


def test_the_root_imports_only_the_root() -> None:
    assert _breaking({ROOT: frozenset({ROOT})}) == []


def test_nothing_imports_the_entry() -> None:
    assert [(importer, imported) for importer, imported in EDGES
            if _layer(imported) == ENTRY and _layer(importer) != ENTRY] == []


def test_the_fake_api_server_imports_no_other_proxy_module() -> None:
    outside = [(importer, imported) for importer, imported in EDGES
               if _layer(importer) == "testing" and _layer(imported) != "testing"]
    assert outside == []


def test_no_proxy_module_imports_the_fake_api_server() -> None:
    inside = [(importer, imported) for importer, imported in EDGES
              if _layer(imported) == "testing" and _layer(importer) != "testing"]
    assert inside == []
