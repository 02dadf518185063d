"""Validation of the call-event batches the sidecar posts (contracts/call-events.schema.json)."""

from __future__ import annotations

from typing import Any

from jsonschema.exceptions import best_match

from voice_agent.contracts import schema_validator


class InvalidEventBatch(ValueError):
    """The batch does not match the contract; `problems` lists each one (path: message)."""

    def __init__(self, problems: list[str]):
        super().__init__(
            "; ".join(problems[:5]) + (f" (+{len(problems) - 5} more)" if len(problems) > 5 else "")
        )
        self.problems = problems


def _location(error: Any) -> str:
    return "/".join(str(part) for part in error.absolute_path) or "(body)"


def _explain(error: Any) -> list[Any]:
    """A oneOf failure ("not valid under any of the given schemas") explained by the branch of the
    event's own type, or else by the closest branch."""
    if not error.context:
        return [error]
    branches: dict[Any, list[Any]] = {}
    for sub in error.context:
        branches.setdefault(sub.relative_schema_path[0], []).append(sub)
    same_type = [
        subs for subs in branches.values() if not any(list(e.relative_path) == ["type"] for e in subs)
    ]
    return same_type[0] if len(same_type) == 1 else [best_match(error.context)]


def validate_batch(body: Any) -> list[dict[str, Any]]:
    """The events of a valid batch, or InvalidEventBatch naming every problem."""
    validator = schema_validator("call-events.schema.json")
    errors = sorted(validator.iter_errors(body), key=lambda e: [str(part) for part in e.absolute_path])
    if errors:
        problems = []
        for error in (explained for top in errors for explained in _explain(top)):
            detail = error.message if len(error.message) < 300 else error.message[:300] + "…"
            problems.append(f"{_location(error)}: {detail}")
        raise InvalidEventBatch(problems)
    return body["events"]
