"""The spec's response schemas as JSON Schema, with the known spec defects patched.

Every deviation from ``shared/spec/ionq-openapi-v0.4.yml`` that the server makes on purpose is
listed in ``SPEC_DEFECTS`` below (semantics.md §10.1), and nowhere else.
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import jsonschema
import yaml

SPEC_PATH = Path(__file__).resolve().parents[2] / "spec" / "ionq-openapi-v0.4.yml"

#: (schema name, JSON pointer inside it, replacement, why)
SPEC_DEFECTS: list[tuple[str, tuple[str, ...], Any, str]] = [
    (
        "Characterization",
        ("properties", "timing", "properties", "1q"),
        {"type": "number"},
        "§10.1.4 timings are float seconds",
    ),
    (
        "Characterization",
        ("properties", "timing", "properties", "2q"),
        {"type": "number"},
        "§10.1.4 timings are float seconds",
    ),
    (
        "Characterization",
        ("properties", "timing", "properties", "t1"),
        {"type": "number"},
        "§10.1.4 timings are float seconds",
    ),
    (
        "Characterization",
        ("properties", "timing", "properties", "t2"),
        {"type": "number"},
        "§10.1.4 timings are float seconds",
    ),
    (
        "Characterization",
        ("properties", "timing", "properties", "readout"),
        {"type": "number"},
        "§10.1.4 timings are float seconds",
    ),
    (
        "Characterization",
        ("properties", "timing", "properties", "reset"),
        {"type": "number"},
        "§10.1.4 timings are float seconds",
    ),
    (
        "Characterization",
        ("properties", "fidelity", "properties", "spam", "properties", "stderr"),
        {"type": ["number", "null"], "minimum": 0},
        "the spec example shows stderr null; typed integer",
    ),
    (
        "GetJobEstimateResponse",
        ("additionalProperties",),
        {},
        "clients.md §0 item 14: the estimate also carries the newer IonQ spec's fields "
        "(estimate_context, estimated_unit, estimated_total_cost, rate_card) that ionq-core "
        "0.2.0 requires",
    ),
    (
        "GetResultsResponse",
        ("additionalProperties",),
        {
            "anyOf": [
                {"type": "number", "format": "double"},
                {"type": "object", "additionalProperties": {"type": "number"}},
            ]
        },
        "clients.md §0 (all clients): a multi-circuit parent's results are {child_id: {...}} in "
        "circuit order, which qiskit-ionq, cirq-ionq, pennylane-ionq and qBraid zip with their "
        "circuits",
    ),
    (
        "Session",
        ("additionalProperties",),
        {},
        "clients.md §1.2: qiskit-ionq's session.status()/usage() and the ionq SDK read "
        "`state` (the spec's `status`) and `usage_time`, which the spec's Session omits",
    ),
]


@functools.cache
def spec() -> dict[str, Any]:
    with SPEC_PATH.open() as fh:
        loaded: dict[str, Any] = yaml.safe_load(fh)
    patched = copy.deepcopy(loaded)
    schemas = patched["components"]["schemas"]
    for name, pointer, replacement, _why in SPEC_DEFECTS:
        node = schemas[name]
        for part in pointer[:-1]:
            node = node[part]
        node[pointer[-1]] = replacement
    return patched


def _to_jsonschema(node: Any) -> Any:
    """OpenAPI 3.0 → JSON Schema: ``nullable``, refs into ``$defs``, strict unknown formats."""
    if isinstance(node, list):
        return [_to_jsonschema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _to_jsonschema(v) for k, v in node.items() if k not in ("nullable", "example")}
    if "$ref" in out:
        out["$ref"] = out["$ref"].replace("#/components/schemas/", "#/$defs/")
    if node.get("nullable"):
        if "type" in out and "enum" not in out:
            out["type"] = [out["type"], "null"] if isinstance(out["type"], str) else out["type"]
        else:
            return {"anyOf": [out, {"type": "null"}]}
    return out


@functools.cache
def _defs() -> dict[str, Any]:
    return {k: _to_jsonschema(v) for k, v in spec()["components"]["schemas"].items()}


def response_schema(path: str, method: str = "get", status: str = "200") -> dict[str, Any]:
    response = spec()["paths"][path][method]["responses"][status]
    if "$ref" in response:
        response = spec()["components"]["responses"][response["$ref"].rsplit("/", 1)[-1]]
    schema = response["content"]["application/json"]["schema"]
    return {**_to_jsonschema(schema), "$defs": _defs()}


def schema(name: str) -> dict[str, Any]:
    return {"$ref": f"#/$defs/{name}", "$defs": _defs()}


def validate(instance: Any, against: dict[str, Any]) -> None:
    jsonschema.validate(instance, against, cls=jsonschema.Draft202012Validator)
