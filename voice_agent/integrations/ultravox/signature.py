"""Ultravox webhook signatures.

Ultravox signs `raw body bytes + X-Ultravox-Webhook-Timestamp` with HMAC-SHA256 and sends the hex
digest in X-Ultravox-Webhook-Signature; during a secret rotation it sends several, comma-separated.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from datetime import datetime, timezone

DEFAULT_TOLERANCE_SECONDS = 60
MAX_SIGNATURES = 8


class WebhookSignatureError(Exception):
    """The request is not a genuine, fresh Ultravox webhook."""


def sign(secret: str, raw_body: bytes, timestamp: str) -> str:
    return hmac.new(secret.encode(), raw_body + timestamp.encode(), hashlib.sha256).hexdigest()


def parse_timestamp(value: str) -> datetime:
    """Ultravox sends an ISO-8601 timestamp; Unix seconds are accepted too."""
    text = (value or "").strip()
    if not text or len(text) > 64:
        raise WebhookSignatureError("missing or malformed timestamp")
    try:
        if text.replace(".", "", 1).isdigit():
            return datetime.fromtimestamp(float(text), tz=timezone.utc)
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, OverflowError, OSError) as exc:
        raise WebhookSignatureError("malformed timestamp") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed


def verify(
    raw_body: bytes,
    timestamp: str | None,
    signature_header: str | None,
    secrets: Iterable[str],
    now: datetime | None = None,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
) -> None:
    """Raise WebhookSignatureError unless one signature matches one secret and the timestamp is fresh."""
    usable_secrets = [s for s in secrets if s]
    if not usable_secrets:
        raise WebhookSignatureError("no webhook secret configured")
    if not signature_header:
        raise WebhookSignatureError("missing signature")
    sent_at = parse_timestamp(timestamp or "")
    now = now or datetime.now(timezone.utc)
    if abs((now - sent_at).total_seconds()) > tolerance_seconds:
        raise WebhookSignatureError("stale or future timestamp")
    candidates = [s.strip().lower() for s in signature_header.split(",") if s.strip()][:MAX_SIGNATURES]
    matched = False
    for secret in usable_secrets:
        expected = sign(secret, raw_body, timestamp or "")
        for candidate in candidates:
            # Keep comparing after a match so the time taken does not say which one matched.
            matched |= hmac.compare_digest(expected, candidate)
    if not matched:
        raise WebhookSignatureError("signature mismatch")
