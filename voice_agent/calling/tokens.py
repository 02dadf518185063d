"""Call tokens (JWT HS256) per contracts/call-token.schema.json, with PyJWT.

Frappe mints them for the browser; the sidecar verifies them. verify() follows
the same rules so both sides can be checked against contracts/vectors/call-tokens.json.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

import jwt

from voice_agent.contracts import schema_validator

ISSUER = "voice_agent"
AUDIENCE = "voice-agent-sidecar"
ALGORITHM = "HS256"
LEEWAY_SEC = 5
MAX_LIFETIME_SEC = 3600
DEFAULT_LIFETIME_SEC = 600
MIN_SECRET_LENGTH = 16


class CallTokenError(Exception):
    """A token was refused; `code` is one of the vector error names:
    malformed, bad_signature, expired, invalid_claims, wrong_call."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class MintedToken:
    token: str
    claims: dict[str, Any]

    @property
    def expires_at(self) -> int:
        return int(self.claims["exp"])


def mint(
    secret: str,
    *,
    call: str,
    participant_id: str,
    role: str,
    name: str | None = None,
    listen_only: bool | None = None,
    lifetime_sec: int = DEFAULT_LIFETIME_SEC,
    now: int | None = None,
) -> MintedToken:
    """Sign a call token; the claims are checked against the contract before signing."""
    if not secret or len(secret) < MIN_SECRET_LENGTH:
        raise ValueError(f"the shared secret must be at least {MIN_SECRET_LENGTH} characters")
    if not 1 <= lifetime_sec <= MAX_LIFETIME_SEC:
        raise ValueError(f"token lifetime must be 1..{MAX_LIFETIME_SEC} s")
    issued = int(time.time()) if now is None else int(now)
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": participant_id,
        "call": call,
        "role": role,
        "iat": issued,
        "exp": issued + lifetime_sec,
        "jti": secrets.token_hex(8),
    }
    if name:
        claims["name"] = name[:140]
    if listen_only is not None:
        claims["listenOnly"] = bool(listen_only)
    errors = sorted(schema_validator("call-token.schema.json").iter_errors(claims), key=str)
    if errors:
        raise ValueError(f"call token claims do not match the contract: {errors[0].message}")
    return MintedToken(jwt.encode(claims, secret, algorithm=ALGORITHM), claims)


def verify(token: str, secret: str, *, expected_call: str, now: int | None = None) -> dict[str, Any]:
    """The token's claims, or CallTokenError with the vector error code."""
    current = int(time.time()) if now is None else int(now)
    try:
        header = jwt.get_unverified_header(token)
    except jwt.DecodeError as exc:
        raise CallTokenError("malformed", f"not a JWT: {exc}") from exc
    if header.get("alg") != ALGORITHM:
        raise CallTokenError("bad_signature", f"algorithm {header.get('alg')!r} is not accepted")
    try:
        # PyJWT's own time checks are off: "now" must be injectable for the vectors.
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            options={
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
                "verify_aud": False,
                "verify_iss": False,
            },
        )
    except jwt.InvalidSignatureError as exc:
        raise CallTokenError("bad_signature", "signature does not match the shared secret") from exc
    except jwt.DecodeError as exc:
        raise CallTokenError("malformed", f"token cannot be decoded: {exc}") from exc
    except jwt.InvalidTokenError as exc:
        raise CallTokenError("invalid_claims", str(exc)) from exc
    errors = sorted(schema_validator("call-token.schema.json").iter_errors(claims), key=str)
    if errors:
        raise CallTokenError("invalid_claims", f"claims do not match the contract: {errors[0].message}")
    if claims["exp"] - claims["iat"] > MAX_LIFETIME_SEC:
        raise CallTokenError("invalid_claims", f"token lifetime exceeds {MAX_LIFETIME_SEC} s")
    if claims["exp"] + LEEWAY_SEC <= current:
        raise CallTokenError("expired", "token has expired")
    if claims["call"] != expected_call:
        raise CallTokenError("wrong_call", "token is for another call")
    return claims
