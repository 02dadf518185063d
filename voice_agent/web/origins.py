"""Which websites may start sessions and embed /voice-agent: one origin per line in Voice Agent Settings."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

# Scheme, host (letters, digits, dots, hyphens: IDNs in punycode) and an optional port; as CSP wants it.
_ORIGIN = re.compile(r"https?://[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?")


class InvalidOrigin(ValueError):
    pass


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def parse_allowed_origins(raw: str | None) -> list[str]:
    """The origins, normalized; raises InvalidOrigin (naming the line) for anything that is not one."""
    origins = []
    for line in (raw or "").splitlines():
        candidate = line.strip()
        if not candidate:
            continue
        origin = candidate.lower().removesuffix("/")
        if not _ORIGIN.fullmatch(origin):
            raise InvalidOrigin(candidate)
        origins.append(origin)
    return list(dict.fromkeys(origins))


def frame_ancestors_policy(allowed: list[str]) -> str:
    """A Content-Security-Policy value that lets only the site itself and the listed origins frame the page."""
    return "frame-ancestors " + " ".join(["'self'", *allowed])
