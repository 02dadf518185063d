import base64
import json

import jwt
import pytest

from voice_agent.calling import tokens
from voice_agent.contracts import load

VECTORS = load("vectors/call-tokens.json")
SECRET = VECTORS["secret"]
NOW = VECTORS["now"]


@pytest.mark.parametrize("case", VECTORS["cases"], ids=[c["name"] for c in VECTORS["cases"]])
def test_verify_agrees_with_every_shared_vector(case):
    if case["valid"]:
        claims = tokens.verify(case["token"], SECRET, expected_call=case["expectedCall"], now=NOW)
        assert claims == case["claims"]
    else:
        with pytest.raises(tokens.CallTokenError) as excinfo:
            tokens.verify(case["token"], SECRET, expected_call=case["expectedCall"], now=NOW)
        assert excinfo.value.code == case["error"]
        assert excinfo.value.code in VECTORS["errors"]


def test_the_vector_constants_match_the_verifier():
    assert VECTORS["leewaySec"] == tokens.LEEWAY_SEC
    assert VECTORS["maxLifetimeSec"] == tokens.MAX_LIFETIME_SEC


@pytest.mark.parametrize(
    ("role", "listen_only"),
    [("agent", None), ("customer", None), ("supervisor", True), ("supervisor", False)],
)
def test_minted_tokens_pass_the_vector_verifier(role, listen_only):
    minted = tokens.mint(
        SECRET,
        call="VC-2026-00001",
        participant_id="agent@example.com",
        role=role,
        name="Agent Smith",
        listen_only=listen_only,
        now=NOW,
    )
    claims = tokens.verify(minted.token, SECRET, expected_call="VC-2026-00001", now=NOW)
    assert claims == minted.claims
    assert claims["exp"] - claims["iat"] == tokens.DEFAULT_LIFETIME_SEC <= 600
    assert jwt.get_unverified_header(minted.token)["alg"] == "HS256"
    assert ("listenOnly" in claims) is (listen_only is not None)
    # expired 5 s after exp (leeway), bound to the call, refused under another secret
    with pytest.raises(tokens.CallTokenError, match="expired"):
        tokens.verify(
            minted.token, SECRET, expected_call="VC-2026-00001", now=minted.expires_at + tokens.LEEWAY_SEC
        )
    with pytest.raises(tokens.CallTokenError) as other_call:
        tokens.verify(minted.token, SECRET, expected_call="VC-2026-00002", now=NOW)
    assert other_call.value.code == "wrong_call"
    with pytest.raises(tokens.CallTokenError) as forged:
        tokens.verify(minted.token, "another-secret-of-enough-length", expected_call="VC-2026-00001", now=NOW)
    assert forged.value.code == "bad_signature"


def test_each_minted_token_has_its_own_jti():
    a = tokens.mint(SECRET, call="VC-1", participant_id="a@example.com", role="agent", now=NOW)
    b = tokens.mint(SECRET, call="VC-1", participant_id="a@example.com", role="agent", now=NOW)
    assert a.claims["jti"] != b.claims["jti"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"role": "admin"}, "do not match the contract"),
        ({"call": "bad call id with spaces"}, "do not match the contract"),
        ({"participant_id": "-starts-with-dash"}, "do not match the contract"),
        ({"lifetime_sec": 3601}, "lifetime"),
        ({"lifetime_sec": 0}, "lifetime"),
    ],
)
def test_mint_refuses_claims_outside_the_contract(kwargs, message):
    args = {"call": "VC-1", "participant_id": "a@example.com", "role": "agent", **kwargs}
    with pytest.raises(ValueError, match=message):
        tokens.mint(SECRET, **args)


def test_mint_refuses_a_short_secret():
    with pytest.raises(ValueError, match="at least 16"):
        tokens.mint("short", call="VC-1", participant_id="a@example.com", role="agent")


def test_a_token_with_extra_claims_is_refused():
    payload = {**VECTORS["cases"][0]["claims"], "admin": True}
    token = jwt.encode(payload, SECRET, algorithm="HS256")
    with pytest.raises(tokens.CallTokenError) as excinfo:
        tokens.verify(token, SECRET, expected_call="VC-2026-00001", now=NOW)
    assert excinfo.value.code == "invalid_claims"


def test_a_tampered_payload_is_a_bad_signature():
    header, payload, signature = VECTORS["cases"][0]["token"].split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["role"] = "supervisor"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    with pytest.raises(tokens.CallTokenError) as excinfo:
        tokens.verify(f"{header}.{forged}.{signature}", SECRET, expected_call="VC-2026-00001", now=NOW)
    assert excinfo.value.code == "bad_signature"
