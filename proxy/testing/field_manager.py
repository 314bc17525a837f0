"""Field ownership (metadata.managedFields) and server-side apply.

Every write records which manager set which fields: `?fieldManager=` or the first
word of the User-Agent, operation Update; an apply records its configuration's
fields under operation Apply. Applying a value to a field another manager owns, when
the live value differs, is a 409 Conflict naming manager and field, unless
`force=true` takes the field over. Lists are atomic (one field), as for ConfigMap,
Secret and Namespace data; keyed list merging is not modelled.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

from proxy.testing import status
from proxy.testing.status import JSONObject

Path = tuple[str, ...]
APPLY = "Apply"
UPDATE = "Update"
# Fields no manager owns: identity and bookkeeping of the object.
_UNOWNED: frozenset[Path] = frozenset({
    ("apiVersion",), ("kind",), ("status",),
    *(("metadata", name) for name in (
        "name", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp",
        "deletionTimestamp", "deletionGracePeriodSeconds", "managedFields", "selfLink",
        "generateName",
    )),
})


def leaves(obj: Any, prefix: Path = ()) -> Iterator[tuple[Path, Any]]:
    """(path, value) of every owned leaf: scalars, lists, empty maps."""
    for key, value in obj.items():
        path = (*prefix, key)
        if path in _UNOWNED or path[:1] == ("status",):
            continue
        if isinstance(value, dict) and value:
            yield from leaves(value, path)
        else:
            yield path, value


def _lookup(obj: Any, path: Path) -> tuple[bool, Any]:
    node = obj
    for part in path:
        if not isinstance(node, dict) or part not in node:
            return False, None
        node = node[part]
    return True, node


def _set(obj: JSONObject, path: Path, value: Any) -> None:
    node = obj
    for part in path[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[path[-1]] = copy.deepcopy(value)


def _remove(obj: JSONObject, path: Path) -> None:
    parents = [obj]
    for part in path[:-1]:
        child = parents[-1].get(part)
        if not isinstance(child, dict):
            return
        parents.append(child)
    parents[-1].pop(path[-1], None)
    for depth in range(len(path) - 2, -1, -1):  # drop maps the removal left empty
        if parents[depth + 1] == {}:
            parents[depth].pop(path[depth], None)


def to_fields_v1(paths: set[Path]) -> JSONObject:
    tree: JSONObject = {}
    for path in sorted(paths):
        node = tree
        for part in path:
            node = node.setdefault(f"f:{part}", {})
    return tree


def from_fields_v1(tree: JSONObject, prefix: Path = ()) -> set[Path]:
    paths: set[Path] = set()
    for key, child in tree.items():
        if not key.startswith("f:"):
            continue
        path = (*prefix, key[2:])
        deeper = from_fields_v1(child, path) if isinstance(child, dict) else set()
        paths |= deeper or {path}
    return paths


def manager_for(field_manager: str, user_agent: str) -> str:
    """?fieldManager, else the User-Agent up to its first '/' (as the apiserver names them)."""
    return field_manager or user_agent.split("/")[0]


class Ownership:
    """The managedFields of one object, as {(manager, operation): set of paths}."""

    def __init__(self, obj: JSONObject) -> None:
        self.entries: dict[tuple[str, str], set[Path]] = {}
        self.api_version = str(obj.get("apiVersion") or "v1")
        for entry in (obj.get("metadata") or {}).get("managedFields") or ():
            key = (str(entry.get("manager", "")), str(entry.get("operation", UPDATE)))
            self.entries[key] = from_fields_v1(entry.get("fieldsV1") or {})

    def record_update(self, manager: str, old: JSONObject | None, new: JSONObject) -> None:
        """An Update by `manager`: it takes every field it changed; removed fields go."""
        old_leaves = dict(leaves(old)) if old is not None else {}
        new_leaves = dict(leaves(new))
        changed = {p for p, v in new_leaves.items() if old_leaves.get(p, _MISSING) != v}
        gone = set(old_leaves) - set(new_leaves)
        mine = (manager, UPDATE)
        for key, paths in self.entries.items():
            self.entries[key] = paths - gone if key == mine else paths - gone - changed
        if changed:
            self.entries.setdefault((manager, UPDATE), set()).update(changed)

    def write(self, obj: JSONObject, now: str) -> None:
        """Store the ownership in obj.metadata.managedFields (empty entries left out)."""
        previous = {
            (e.get("manager"), e.get("operation")): e.get("time")
            for e in (obj.get("metadata") or {}).get("managedFields") or ()
        }
        managed = [
            {
                "manager": manager,
                "operation": operation,
                "apiVersion": self.api_version,
                "time": previous.get((manager, operation)) or now,
                "fieldsType": "FieldsV1",
                "fieldsV1": to_fields_v1(paths),
            }
            for (manager, operation), paths in self.entries.items()
            if paths
        ]
        metadata = obj.setdefault("metadata", {})
        if managed:
            metadata["managedFields"] = managed
        else:
            metadata.pop("managedFields", None)


_MISSING = object()


def _path_text(path: Path) -> str:
    return "".join(f".{part}" for part in path)


def _conflict_error(conflicts: dict[str, list[Path]]) -> status.APIError:
    count = sum(len(paths) for paths in conflicts.values())
    message = f"Apply failed with {count} conflict{'s' if count > 1 else ''}: "
    parts, causes = [], []
    for manager in sorted(conflicts):
        paths = conflicts[manager]
        if len(paths) == 1:
            parts.append(f"conflict with {manager}: {_path_text(paths[0])}")
        else:
            parts.append(f"conflicts with {manager}:" + "".join(
                f"\n- {_path_text(p)}" for p in paths))
        causes += [{"reason": "FieldManagerConflict", "message": f"conflict with {manager}",
                    "field": _path_text(p)} for p in paths]
    return status.APIError(409, reason="Conflict", message=message + "\n".join(parts),
                           details={"causes": causes})


def _printed(manager: str, operation: str, api_version: str) -> str:
    """printManager: Apply managers by name, Update ones with their apiVersion (the manager
    identifier conflicts carry has no time)."""
    quoted = json.dumps(manager)
    return quoted if operation == APPLY else f"{quoted} using {api_version}"


def apply(
    live: JSONObject | None, config: JSONObject, *, manager: str, force: bool
) -> tuple[JSONObject, Ownership]:
    """The object after `manager` applies `config` to `live` (None: it does not exist yet).

    Raises the 409 Conflict when another manager owns a field the config sets to a
    different value and `force` is off. Returns the object and its new ownership (for
    `Ownership.write` once the write is accepted).
    """
    base = copy.deepcopy(live) if live is not None else {
        "apiVersion": config.get("apiVersion"), "kind": config.get("kind"),
        "metadata": {k: v for k, v in (config.get("metadata") or {}).items()
                     if k in ("name", "namespace")},
    }
    ownership = Ownership(base)
    wanted = dict(leaves(config))
    conflicts: dict[str, list[Path]] = {}
    for (owner, operation), paths in ownership.entries.items():
        if (owner, operation) == (manager, APPLY):
            continue
        for path in sorted(paths & set(wanted)):
            found, value = _lookup(base, path)
            if found and value != wanted[path]:
                printed = _printed(owner, operation, ownership.api_version)
                conflicts.setdefault(printed, []).append(path)
    if conflicts and not force:
        raise _conflict_error(conflicts)
    previously = ownership.entries.get((manager, APPLY), set())
    others = set().union(*(p for k, p in ownership.entries.items() if k != (manager, APPLY)))
    for path in previously - set(wanted) - others:
        _remove(base, path)
    for path, value in wanted.items():
        _set(base, path, value)
    taken = {path for paths in conflicts.values() for path in paths}
    for key in list(ownership.entries):
        if key != (manager, APPLY):
            ownership.entries[key] -= taken
    ownership.entries[(manager, APPLY)] = set(wanted)
    return base, ownership
