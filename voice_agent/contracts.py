"""The shared contracts (/contracts/*.json at the repository root), loaded once, and JSON Schema
validators of them (draft 2020-12, cross-file $refs by $id, format checks).

Pure module: no frappe import, used by the app and by the pytest suite.
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource

CONTRACTS_DIR = Path(__file__).resolve().parents[1] / "contracts"


@cache
def load(name: str) -> dict[str, Any]:
    """The parsed contract file `name` (e.g. "call-states.json")."""
    path = CONTRACTS_DIR / name
    if not path.is_file():
        raise FileNotFoundError(f"contract {name} not found in {CONTRACTS_DIR}")
    with path.open(encoding="utf-8") as f:
        return json.load(f)


_format_checker = FormatChecker()


@_format_checker.checks("date-time", raises=ValueError)
def _is_rfc3339(value: object) -> bool:
    # jsonschema only checks date-time when rfc3339-validator is installed; do it here.
    if not isinstance(value, str):
        return True
    if "T" not in value.upper():
        raise ValueError("date-time needs a 'T' between date and time")
    parsed = datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError("date-time needs a time zone offset")
    return True


@cache
def _registry() -> Registry:
    resources = []
    for path in sorted(CONTRACTS_DIR.glob("*.schema.json")):
        schema = load(path.name)
        if "$id" in schema:
            resources.append((schema["$id"], Resource.from_contents(schema)))
    return Registry().with_resources(resources)


@cache
def schema_validator(name: str) -> Draft202012Validator:
    """A validator of the contract file `name`, with format checks (uuid, date-time)."""
    return Draft202012Validator(load(name), registry=_registry(), format_checker=_format_checker)


def definition_validator(name: str, definition: str) -> Draft202012Validator:
    """A validator of `#/$defs/<definition>` inside the contract file `name`."""
    schema_id = load(name)["$id"]
    return Draft202012Validator(
        {"$ref": f"{schema_id}#/$defs/{definition}"}, registry=_registry(), format_checker=_format_checker
    )
