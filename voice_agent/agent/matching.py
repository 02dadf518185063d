"""Matching spoken item names to the catalogue."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field

CERTAIN = 0.88
POSSIBLE = 0.55


@dataclass
class ItemMatch:
    requested: str
    item: str | None = None
    suggestions: list[str] = field(default_factory=list)


def _norm(text: str) -> str:
    return " ".join(text.lower().replace("-", " ").split())


def match_item(requested: str, catalogue: dict[str, str]) -> ItemMatch:
    """catalogue maps item display name -> item code. Exact (case-insensitive) or very close names match;
    otherwise up to three close names come back as suggestions."""
    wanted = _norm(requested)
    by_norm: dict[str, str] = {}
    for name, code in catalogue.items():
        by_norm.setdefault(_norm(name), code)
    if wanted in by_norm:
        return ItemMatch(requested, item=by_norm[wanted])
    scored = sorted(
        ((difflib.SequenceMatcher(None, wanted, n).ratio(), n) for n in by_norm), key=lambda p: (-p[0], p[1])
    )
    names = {_norm(n): n for n in catalogue}
    if scored and scored[0][0] >= CERTAIN and (len(scored) == 1 or scored[1][0] < CERTAIN):
        return ItemMatch(requested, item=by_norm[scored[0][1]])
    # "pizza" for "Margherita Pizza": every spoken word appears in the name.
    words = set(wanted.split())
    containing = sorted(n for n in by_norm if words <= set(n.split()))
    close = [n for score, n in scored if score >= POSSIBLE and n not in containing]
    return ItemMatch(requested, suggestions=[names[n] for n in (containing + close)[:3]])


def match_items(requested: Iterable[str], catalogue: dict[str, str]) -> list[ItemMatch]:
    return [match_item(r, catalogue) for r in requested]
