"""Per-session bearer secrets of the public endpoints (the page's client token, the agent's tool secret):
only their SHA-256 is stored, and a presented secret is checked in constant time."""

from __future__ import annotations

import hashlib
import hmac


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def secrets_equal(expected_hash: str | None, presented_secret: str | None) -> bool:
    if not expected_hash or not presented_secret:
        # Hash something anyway: a missing session takes as long to refuse as a wrong secret.
        hmac.compare_digest("0" * 64, hash_secret(presented_secret or ""))
        return False
    return hmac.compare_digest(expected_hash, hash_secret(presented_secret))
