"""Meta webhook authenticity: the X-Hub-Signature-256 check on POST and the GET verification handshake.

Meta signs the exact raw request body with HMAC-SHA256 keyed by the App Secret and sends
`X-Hub-Signature-256: sha256=<hex digest>`. The check runs on the raw bytes, before any parsing.
Several secrets may be configured (the current one and the previous one) so an App Secret can be
rotated without refusing the deliveries Meta signed just before the switch.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

SIGNATURE_HEADER = "X-Hub-Signature-256"
SIGNATURE_PREFIX = "sha256="
SUBSCRIBE_MODE = "subscribe"
# Meta's challenge is a short number; anything long or odd is not Meta and must not be echoed back.
MAX_CHALLENGE_LENGTH = 256
MAX_VERIFY_TOKEN_LENGTH = 1024
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


class WebhookSignatureError(Exception):
    """The POST is not a genuine Meta webhook signed with one of our App Secrets."""


class HandshakeRefused(Exception):
    """The GET verification request is not Meta subscribing with our verify token."""


def sign(app_secret: str, raw_body: bytes) -> str:
    """The X-Hub-Signature-256 value Meta sends for `raw_body` signed with `app_secret`."""
    return SIGNATURE_PREFIX + hmac.new(app_secret.encode(), raw_body, hashlib.sha256).hexdigest()


def verify(raw_body: bytes, header: str | None, app_secrets: Iterable[str | None]) -> None:
    """Raise WebhookSignatureError unless `header` is the signature of `raw_body` under one of the secrets."""
    secrets = [secret for secret in app_secrets if secret]
    if not secrets:
        raise WebhookSignatureError("no WhatsApp App Secret configured: every webhook is refused")
    if not header:
        raise WebhookSignatureError(f"missing {SIGNATURE_HEADER} header")
    value = header.strip()
    if value[: len(SIGNATURE_PREFIX)].lower() != SIGNATURE_PREFIX:
        raise WebhookSignatureError(f"{SIGNATURE_HEADER} must start with {SIGNATURE_PREFIX!r}")
    hex_digest = value[len(SIGNATURE_PREFIX) :]
    if len(hex_digest) != 2 * hashlib.sha256().digest_size or not _HEX_DIGITS.issuperset(hex_digest):
        raise WebhookSignatureError(f"{SIGNATURE_HEADER} is not a hex SHA-256 digest")
    presented = bytes.fromhex(hex_digest)
    matched = False
    for secret in secrets:
        expected = hmac.new(secret.encode(), raw_body, hashlib.sha256).digest()
        # Keep comparing after a match so the time taken does not tell which secret matched.
        matched |= hmac.compare_digest(expected, presented)
    if not matched:
        raise WebhookSignatureError("signature mismatch")


def answer_handshake(
    mode: str | None,
    verify_token: str | None,
    challenge: str | None,
    expected_tokens: Iterable[str | None],
) -> str:
    """The text to answer Meta's GET verification with (`hub.challenge`), or HandshakeRefused (answer 403)."""
    if mode != SUBSCRIBE_MODE:
        raise HandshakeRefused(f"hub.mode must be {SUBSCRIBE_MODE!r}")
    tokens = [token for token in expected_tokens if token]
    if not tokens:
        raise HandshakeRefused("no WhatsApp verify token configured")
    if not verify_token or len(verify_token) > MAX_VERIFY_TOKEN_LENGTH:
        raise HandshakeRefused("missing or oversized hub.verify_token")
    presented = verify_token.encode()
    matched = False
    for token in tokens:
        matched |= hmac.compare_digest(token.encode(), presented)
    if not matched:
        raise HandshakeRefused("hub.verify_token does not match")
    if not challenge or len(challenge) > MAX_CHALLENGE_LENGTH:
        raise HandshakeRefused("missing or oversized hub.challenge")
    # The challenge is echoed into the response body: visible ASCII only, so nothing else can be reflected.
    if not all("!" <= char <= "~" for char in challenge):
        raise HandshakeRefused("hub.challenge must be visible ASCII characters")
    return challenge
