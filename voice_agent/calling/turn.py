"""Short-lived TURN credentials (the "TURN REST API" scheme coturn's use-auth-secret checks)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time


def turn_rest_credentials(
    secret: str, user: str, ttl_sec: int = 3600, now: int | None = None
) -> tuple[str, str]:
    """(username, credential): username = "<expiry unix time>:<user>", credential = base64(HMAC-SHA1(secret, username))."""
    expiry = (int(time.time()) if now is None else int(now)) + ttl_sec
    username = f"{expiry}:{user}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()
