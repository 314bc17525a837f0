"""Request placeholders filled in, `provides` captured, and generated bodies built.

Also the other direction: a recorded response value holding placeholders (`<uid>`,
`gen-<random>`, `<rv>`...) becomes a pattern the fake's value must match.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import uuid
from collections.abc import Mapping
from typing import Any

from tests.corpus.wire import WireResponse

PLACEHOLDER = re.compile(r"<([a-z][a-z0-9-]*)(?:\+(\d+))?>")
IDENTITIES = {"<admin>": "<admin-token>", "<limited>": "<limited-token>"}
WEBSOCKET_KEY = "<random 16 bytes, base64>"


class MissingValue(Exception):
    """A placeholder the request needs has no value (its provider failed or was skipped)."""


def new_namespace() -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return "corpus-" + "".join(secrets.choice(alphabet) for _ in range(6))


def fill(text: str, values: Mapping[str, str], *, known: frozenset[str] = frozenset()) -> str:
    """Replace every placeholder with its value; `<x+N>` adds N to the number `<x>` holds.

    Names in `known` (provided by some case or step) must have a value by now;
    any other `<word>` is left as it is (it may be literal text).
    """

    def replace(match: re.Match[str]) -> str:
        name = f"<{match.group(1)}>"
        if name == "<uid>":
            return str(uuid.uuid4())
        if name not in values:
            if name in known:
                raise MissingValue(f"{name} has no value: the step or case providing it failed")
            return match.group(0)
        if match.group(2) is None:
            return values[name]
        return str(int(values[name]) + int(match.group(2)))

    return PLACEHOLDER.sub(replace, text)


def fill_headers(
    headers: Mapping[str, str], values: Mapping[str, str], *, known: frozenset[str]
) -> tuple[tuple[str, str], ...]:
    filled: list[tuple[str, str]] = []
    for name, value in headers.items():
        if name.lower() == "authorization" and value in IDENTITIES:
            value = f"Bearer {values[IDENTITIES[value]]}"
        elif value == WEBSOCKET_KEY:
            value = base64.b64encode(secrets.token_bytes(16)).decode()
        filled.append((name, fill(value, values, known=known)))
    return tuple(filled)


_RECIPE = re.compile(
    r"(?P<kind>\w+) JSON named (?P<name>[\w.-]+)"
    r"(?:, labels (?P<labels>[\w./-]+=[\w.-]*(?:(?:,| and) [\w./-]+=[\w.-]*)*))?"
    r".*?whose (?P<field>[\w.]+) is '(?P<unit>[^']*)' repeated (?P<times>[\d,_]+) times"
)


def generate_body(recipe: Mapping[str, Any], values: Mapping[str, str]) -> bytes:
    """Build a body from its recipe: "<Kind> JSON named N, labels a=b, whose data.x is 'u'
    repeated T times" -> json.dumps of that object (Python's default separators, which
    is what the recorded sizes add up to)."""
    text = fill(str(recipe.get("recipe", "")), values)
    match = _RECIPE.search(text)
    if match is None:
        raise MissingValue(f"body recipe not understood: {text!r}")
    metadata: dict[str, Any] = {"name": match["name"]}
    if match["labels"]:
        pairs = re.split(r",\s*|\s+and\s+", match["labels"])
        metadata["labels"] = dict(pair.split("=", 1) for pair in pairs if pair)
    obj: dict[str, Any] = {"apiVersion": "v1", "kind": match["kind"], "metadata": metadata}
    value = match["unit"] * int(re.sub(r"[,_]", "", match["times"]))
    node = obj
    *parents, leaf = match["field"].split(".")
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value
    # Python's default separators are what the recorded sizes add up to; should a recipe's
    # size say otherwise, the compact form is the other way it could have been written.
    candidates = [json.dumps(obj).encode(), json.dumps(obj, separators=(",", ":")).encode()]
    wanted = recipe.get("bytes")
    return next((body for body in candidates if len(body) == wanted), candidates[0])


def _dig(document: Any, path: str) -> Any:
    """A dotted path into JSON; keys may contain `/`, and a key may itself contain dots
    when no shorter split exists."""
    node = document
    parts = path.split(".")
    while parts:
        if not isinstance(node, dict):
            return None
        for size in range(len(parts), 0, -1):
            key = ".".join(parts[:size])
            if key in node:
                node, parts = node[key], parts[size:]
                break
        else:
            return None
    return node


def capture(specs: Mapping[str, Any], response: WireResponse, body: Any) -> dict[str, str]:
    """The values a `provides` block names, from this response."""
    found: dict[str, str] = {}
    for name, spec in specs.items():
        if spec.get("from") == "header":
            value = response.header(str(spec["name"]).lower())
        else:
            value = _dig(body, str(spec.get("path", "")))
        if value is None:
            continue
        text = str(value)
        if spec.get("regex"):
            match = re.search(spec["regex"], text)
            if match is None:
                continue
            text = match.group(1)
        found[name] = text
    return found


# Recorded placeholders -> what a real value in their place looks like.
_PATTERNS = {
    "uid": r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
    "rv": r"\d+",
    "ts": r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)",
    "http-date": r"\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT",
    "jwt": r"[\w-]+\.[\w-]+\.[\w-]+",
    "hash": r"[0-9A-Fa-f]+",
    "random": r"[a-z0-9]{5}",
    "continue": r".+",
    "sha256": r"[0-9a-f]{64}",
    "n": r"\d+",
    "varies": r".*",
}


def pattern_for(recorded: str, values: Mapping[str, str]) -> re.Pattern[str]:
    """A regex matching what the fake may answer where the recording has `recorded`."""
    out, last = [], 0
    for match in PLACEHOLDER.finditer(recorded):
        out.append(re.escape(recorded[last : match.start()]))
        name = match.group(1)
        if f"<{name}>" in values and match.group(2) is None and name not in _PATTERNS:
            out.append(re.escape(values[f"<{name}>"]))
        else:
            out.append(f"(?:{_PATTERNS.get(name, r'.+')})")
        last = match.end()
    out.append(re.escape(recorded[last:]))
    return re.compile("".join(out), re.DOTALL)
