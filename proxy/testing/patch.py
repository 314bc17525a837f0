"""The PATCH flavours: JSON merge patch (RFC 7386), strategic merge (approximated), JSON patch."""

from __future__ import annotations

import copy
from typing import Any

from proxy.testing import status

MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"
SUPPORTED_PATCH_TYPES = (JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH)


def merge_patch(target: Any, patch: Any, *, strategic: bool = False) -> Any:
    """RFC 7386; with `strategic`, the map directives `$patch: replace` and `$patch: delete`
    apply and other `$`-directives are dropped (lists are replaced whole)."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if strategic and patch.get("$patch") == "replace":
        return merge_patch({}, {k: v for k, v in patch.items() if k != "$patch"}, strategic=True)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if strategic and key.startswith("$"):
            continue
        deleted = strategic and isinstance(value, dict) and value.get("$patch") == "delete"
        if value is None or deleted:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value, strategic=strategic)
    return result


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise status.bad_request(f"invalid JSON pointer {path!r}")
    return [part.replace("~1", "/").replace("~0", "~") for part in path[1:].split("/")]


def _parent(doc: Any, parts: list[str]) -> Any:
    node = doc
    for part in parts[:-1]:
        try:
            node = node[int(part)] if isinstance(node, list) else node[part]
        except (KeyError, IndexError, ValueError, TypeError) as error:
            raise status.invalid_patch(f"path not found: {part}") from error
    return node


def _value_at(doc: Any, path: str) -> Any:
    node = doc
    for part in _pointer(path):
        try:
            node = node[int(part)] if isinstance(node, list) else node[part]
        except (KeyError, IndexError, ValueError, TypeError) as error:
            raise status.invalid_patch(f"path not found: {path}") from error
    return node


def _apply_op(doc: Any, op: dict[str, Any]) -> Any:
    name = op.get("op")
    if name in ("move", "copy"):  # RFC 6902: a remove (for move) and an add
        source = str(op.get("from", ""))
        value = copy.deepcopy(_value_at(doc, source))
        if name == "move":
            doc = _apply_op(doc, {"op": "remove", "path": source})
        return _apply_op(doc, {"op": "add", "path": op.get("path", ""), "value": value})
    parts = _pointer(str(op.get("path", "")))
    if not parts:
        raise status.invalid_patch("operations on the whole document are not supported")
    parent, last = _parent(doc, parts), parts[-1]
    try:
        if name in ("add", "replace"):
            if isinstance(parent, list):
                index = len(parent) if last == "-" else int(last)
                if name == "add":
                    parent.insert(index, copy.deepcopy(op["value"]))
                else:
                    parent[index] = copy.deepcopy(op["value"])
            else:
                if name == "replace" and last not in parent:
                    raise status.invalid_patch(f"replace operation does not apply: {last}")
                parent[last] = copy.deepcopy(op["value"])
        elif name == "remove":
            if isinstance(parent, list):
                del parent[int(last)]
            else:
                del parent[last]
        elif name == "test":
            current = parent[int(last)] if isinstance(parent, list) else parent[last]
            if current != op.get("value"):
                raise status.invalid_patch(f"testing value {op.get('path')} failed")
        else:
            raise status.invalid_patch(f"unsupported operation {name!r}")
    except (KeyError, IndexError, ValueError, TypeError) as error:
        raise status.invalid_patch(f"{name} operation does not apply: {error}") from error
    return doc


def json_patch(target: Any, operations: Any) -> Any:
    if not isinstance(operations, list):
        kind = "object" if isinstance(operations, dict) else "value"
        raise status.bad_request(
            f"json: cannot unmarshal {kind} into Go value of type jsonpatch.Patch"
        )
    doc = copy.deepcopy(target)
    for op in operations:
        if not isinstance(op, dict):
            raise status.bad_request("json patch operation must be an object")
        doc = _apply_op(doc, op)
    return doc


def apply_patch(content_type: str, target: Any, patch: Any) -> Any:
    if content_type == JSON_PATCH:
        return json_patch(target, patch)
    if content_type == MERGE_PATCH:
        return merge_patch(target, patch)
    if content_type == STRATEGIC_MERGE_PATCH:
        return merge_patch(target, patch, strategic=True)
    raise status.unsupported_media_type(", ".join(SUPPORTED_PATCH_TYPES))
