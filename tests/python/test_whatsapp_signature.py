import hashlib
import hmac

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voice_agent.integrations.whatsapp.signature import (
    HandshakeRefused,
    WebhookSignatureError,
    answer_handshake,
    sign,
    verify,
)

SECRET = "3f6c1e0a9b7d4c2e8f5a6b1c0d9e8f7a"
BODY = (
    b'{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"value":'
    b'{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881",'
    b'"phone_number_id":"106540352242922"},"messages":[{"from":"16505551234","id":"wamid.HBgLMTY1MDM4Nzk0",'
    b'"timestamp":"1749416383","type":"text","text":{"body":"Hi"}}]},"field":"messages"}]}]}'
)


def test_sign_is_hmac_sha256_of_the_raw_body_with_the_sha256_prefix():
    expected = hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest()
    assert sign(SECRET, BODY) == f"sha256={expected}"


def test_valid_signature_accepted():
    verify(BODY, sign(SECRET, BODY), [SECRET])


def test_upper_case_hex_and_surrounding_spaces_accepted():
    header = sign(SECRET, BODY)
    verify(BODY, "  sha256=" + header.removeprefix("sha256=").upper() + " ", [SECRET])


def test_wrong_secret_refused():
    with pytest.raises(WebhookSignatureError, match="mismatch"):
        verify(BODY, sign("another-secret", BODY), [SECRET])


@pytest.mark.parametrize("header", [None, ""])
def test_missing_header_refused(header):
    with pytest.raises(WebhookSignatureError, match="missing X-Hub-Signature-256"):
        verify(BODY, header, [SECRET])


def test_altered_body_refused():
    header = sign(SECRET, BODY)
    with pytest.raises(WebhookSignatureError, match="mismatch"):
        verify(BODY.replace(b'"Hi"', b'"Ho"'), header, [SECRET])
    with pytest.raises(WebhookSignatureError, match="mismatch"):
        verify(BODY + b"\n", header, [SECRET])


def test_rotated_secret_current_and_previous_accepted_others_refused():
    secrets = ["new-secret", "old-secret"]
    verify(BODY, sign("new-secret", BODY), secrets)
    verify(BODY, sign("old-secret", BODY), secrets)
    with pytest.raises(WebhookSignatureError, match="mismatch"):
        verify(BODY, sign("older-secret", BODY), secrets)


def counted_compares(monkeypatch) -> list:
    """Every hmac.compare_digest call of the signature module, recorded."""
    calls = []
    real = hmac.compare_digest

    def counting(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr("voice_agent.integrations.whatsapp.signature.hmac.compare_digest", counting)
    return calls


def test_every_secret_is_compared_even_after_a_match(monkeypatch):
    calls = counted_compares(monkeypatch)
    verify(BODY, sign("first", BODY), ["first", "second", "third"])
    assert len(calls) == 3


@pytest.mark.parametrize(
    "header",
    [
        "sha1=" + "0" * 40,
        "md5=" + "0" * 32,
        hashlib.sha256(BODY).hexdigest(),  # digest without its prefix
        "sha256:" + "0" * 64,
    ],
)
def test_wrong_prefix_refused(header):
    with pytest.raises(WebhookSignatureError, match="must start with 'sha256='"):
        verify(BODY, header, [SECRET])


@pytest.mark.parametrize(
    "digest",
    ["", "0" * 63, "0" * 65, "g" * 64, "0" * 62 + " 0", "é" * 64, "0x" + "0" * 62],
)
def test_malformed_hex_refused(digest):
    with pytest.raises(WebhookSignatureError, match="not a hex SHA-256 digest"):
        verify(BODY, "sha256=" + digest, [SECRET])


@pytest.mark.parametrize("secrets", [[], [""], [None], ["", None]])
def test_no_secret_configured_refuses_even_an_empty_key_signature(secrets):
    with pytest.raises(WebhookSignatureError, match="no WhatsApp App Secret configured"):
        verify(BODY, sign("", BODY), secrets)


def test_secrets_may_be_any_iterable_and_blank_ones_are_skipped():
    verify(BODY, sign(SECRET, BODY), (s for s in ["", None, SECRET]))


# --- the GET verification handshake ---


def test_handshake_returns_the_challenge_for_subscribe_and_the_right_token():
    assert answer_handshake("subscribe", "my-verify-token", "1158201444", ["my-verify-token"]) == "1158201444"


def test_handshake_accepts_any_configured_token():
    assert answer_handshake("subscribe", "old", "42", ["new", "old"]) == "42"


@pytest.mark.parametrize("mode", [None, "", "unsubscribe", "Subscribe", "subscribe "])
def test_handshake_refuses_other_modes(mode):
    with pytest.raises(HandshakeRefused, match="hub.mode"):
        answer_handshake(mode, "tok", "42", ["tok"])


@pytest.mark.parametrize("token", [None, "", "tok ", "TOK", "to", "x" * 2000])
def test_handshake_refuses_a_wrong_or_missing_token(token):
    with pytest.raises(HandshakeRefused, match="verify_token"):
        answer_handshake("subscribe", token, "42", ["tok"])


@pytest.mark.parametrize("tokens", [[], [""], [None]])
def test_handshake_refuses_when_no_token_is_configured(tokens):
    with pytest.raises(HandshakeRefused, match="no WhatsApp verify token"):
        answer_handshake("subscribe", "", "42", tokens)


@pytest.mark.parametrize(
    "challenge",
    [None, "", "1" * 257, "12 34", "12\n34", "12\x0034", "défi", "\u202e42"],
)
def test_handshake_refuses_missing_oversized_or_non_printable_challenges(challenge):
    with pytest.raises(HandshakeRefused, match="hub.challenge"):
        answer_handshake("subscribe", "tok", challenge, ["tok"])


def test_handshake_checks_the_token_before_looking_at_the_challenge():
    with pytest.raises(HandshakeRefused, match="verify_token"):
        answer_handshake("subscribe", "wrong", "\x00" * 500, ["tok"])


def test_handshake_accepts_a_challenge_of_the_maximum_length():
    assert answer_handshake("subscribe", "tok", "7" * 256, ["tok"]) == "7" * 256


def test_handshake_compares_tokens_in_constant_time_against_every_token(monkeypatch):
    calls = counted_compares(monkeypatch)
    answer_handshake("subscribe", "a", "1", ["a", "b"])
    assert len(calls) == 2


# --- fuzzing: no forgery without the secret, no exception other than the refusal ---


@settings(max_examples=500, deadline=None)
@given(body=st.binary(max_size=2048), header=st.one_of(st.none(), st.text(max_size=120)))
def test_arbitrary_headers_never_verify_and_only_refuse(body, header):
    with pytest.raises(WebhookSignatureError):
        verify(body, header, [SECRET])


@settings(max_examples=500, deadline=None)
@given(body=st.binary(max_size=2048), digest=st.binary(min_size=32, max_size=32), upper=st.booleans())
def test_well_formed_forged_signatures_are_refused(body, digest, upper):
    hex_digest = digest.hex().upper() if upper else digest.hex()
    if hmac.compare_digest(digest, hmac.new(SECRET.encode(), body, hashlib.sha256).digest()):
        return  # 2**-256: the forger guessed the HMAC
    with pytest.raises(WebhookSignatureError, match="mismatch"):
        verify(body, "sha256=" + hex_digest, [SECRET])


@settings(max_examples=300, deadline=None)
@given(body=st.binary(min_size=1, max_size=512), position=st.integers(min_value=0), bit=st.integers(0, 7))
def test_any_single_bit_flip_of_a_signed_body_is_refused(body, position, bit):
    header = sign(SECRET, body)
    verify(body, header, [SECRET])
    tampered = bytearray(body)
    tampered[position % len(body)] ^= 1 << bit
    with pytest.raises(WebhookSignatureError, match="mismatch"):
        verify(bytes(tampered), header, [SECRET])


@settings(max_examples=300, deadline=None)
@given(
    mode=st.one_of(st.none(), st.text(max_size=12)),
    token=st.one_of(st.none(), st.text(max_size=40)),
    challenge=st.one_of(st.none(), st.text(max_size=300)),
)
def test_handshake_only_ever_returns_the_challenge_or_refuses(mode, token, challenge):
    try:
        answer = answer_handshake(mode, token, challenge, ["the-real-token"])
    except HandshakeRefused:
        return
    assert (mode, token) == ("subscribe", "the-real-token")
    assert answer == challenge
    assert 0 < len(answer) <= 256 and all("!" <= c <= "~" for c in answer)
