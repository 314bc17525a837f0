"""Generated definitions for groups the fake does not serve: they give /openapi/v2 the bulk
of a real cluster's document (a few MB) deterministically."""

from __future__ import annotations

import random
from typing import Any

from proxy.testing.openapi_definitions import META, gvk, ref, type_meta
from proxy.testing.status import JSONObject

FILLER_GROUPS = 14
FILLER_KINDS_PER_GROUP = 9
FILLER_PROPERTIES = 14
# fmt: off
_WORDS: tuple[str, ...] = (
    "the", "object", "controller", "field", "value", "resource", "spec", "status", "replica",
    "selector", "label", "annotation", "container", "volume", "mount", "port", "protocol",
    "service", "endpoint", "node", "pod", "namespace", "policy", "rule", "subject", "role",
    "binding", "token", "secret", "config", "map", "key", "path", "scheme", "host", "address",
    "condition", "reason", "message", "time", "generation", "observed", "desired", "current",
    "ready", "available", "updated", "strategy", "rolling", "surge", "unavailable", "template",
    "affinity", "toleration", "taint", "priority", "preemption", "quota", "limit", "request",
    "memory", "cpu", "storage", "class", "claim", "capacity", "access", "mode", "phase",
    "reclaim", "bound", "pending", "running", "succeeded", "failed", "unknown", "must", "may",
    "should", "is", "defined", "when", "specified", "defaults", "to", "if", "omitted,", "more",
    "info",
)
# fmt: on


def _sentence(rng: random.Random) -> str:
    words = rng.choices(_WORDS, k=rng.randint(18, 40))
    return " ".join(words).capitalize() + "."


def filler_definitions(seed: int = 1) -> dict[str, JSONObject]:
    """Many plausible definitions for groups this fake does not serve: document bulk."""
    rng = random.Random(seed)
    definitions: dict[str, JSONObject] = {}
    for g in range(FILLER_GROUPS):
        group = f"{rng.choice(_WORDS)}{g}.example.k8s.io"
        for k in range(FILLER_KINDS_PER_GROUP):
            kind = "".join(w.capitalize() for w in rng.choices(_WORDS[:60], k=2)) + str(k)
            base = f"io.k8s.api.{group.split('.')[0]}.v1.{kind}"
            for suffix in ("Spec", "Status", "Condition"):
                properties: dict[str, Any] = {}
                for _ in range(FILLER_PROPERTIES):
                    name = rng.choice(_WORDS[:60]) + rng.choice(_WORDS[:60]).capitalize()
                    properties[name] = {
                        "description": " ".join(_sentence(rng) for _ in range(3)),
                        "type": rng.choice(["string", "integer", "boolean"]),
                    }
                definitions[f"{base}{suffix}"] = {
                    "description": _sentence(rng),
                    "type": "object",
                    "properties": properties,
                }
            definitions[base] = {
                "description": _sentence(rng),
                "type": "object",
                "properties": {
                    **type_meta(),
                    "metadata": ref(f"{META}.ObjectMeta"),
                    "spec": ref(f"{base}Spec"),
                    "status": ref(f"{base}Status"),
                },
                "x-kubernetes-group-version-kind": gvk(kind, group),
            }
    return definitions
