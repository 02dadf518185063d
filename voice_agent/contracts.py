"""The shared contracts (/contracts/*.json at the repository root), loaded once.

Pure module: no frappe import, used by the app and by the pytest suite.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

CONTRACTS_DIR = Path(__file__).resolve().parents[1] / "contracts"


@cache
def load(name: str) -> dict[str, Any]:
    """The parsed contract file `name` (e.g. "call-states.json")."""
    path = CONTRACTS_DIR / name
    if not path.is_file():
        raise FileNotFoundError(f"contract {name} not found in {CONTRACTS_DIR}")
    with path.open(encoding="utf-8") as f:
        return json.load(f)
