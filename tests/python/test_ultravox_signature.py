import json
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voice_agent.integrations.ultravox.events import (
    WebhookPayloadError,
    format_transcript,
    parse_duration_seconds,
    parse_event,
)
from voice_agent.integrations.ultravox.signature import (
    WebhookSignatureError,
    sign,
    verify,
)
from voice_agent.web.secrets import hash_secret, secrets_equal

NOW = datetime(2026, 11, 23, 3, 0, 0, tzinfo=timezone.utc)
TS = NOW.isoformat()
BODY = json.dumps({"event": "call.ended", "call": {"callId": "c-1"}}).encode()


def test_valid_signature_accepted():
    verify(BODY, TS, sign("s3cret", BODY, TS), ["s3cret"], now=NOW)


def test_tampered_body_refused():
    sig = sign("s3cret", BODY, TS)
    with pytest.raises(WebhookSignatureError, match="mismatch"):
        verify(BODY.replace(b"c-1", b"c-2"), TS, sig, ["s3cret"], now=NOW)


def test_timestamp_is_part_of_the_signature():
    sig = sign("s3cret", BODY, TS)
    later = (NOW + timedelta(seconds=5)).isoformat()
    with pytest.raises(WebhookSignatureError, match="mismatch"):
        verify(BODY, later, sig, ["s3cret"], now=NOW)


@pytest.mark.parametrize("shift", [-61, 61, -3600, 86400])
def test_stale_or_future_timestamp_refused(shift):
    ts = (NOW + timedelta(seconds=shift)).isoformat()
    with pytest.raises(WebhookSignatureError, match="stale"):
        verify(BODY, ts, sign("s3cret", BODY, ts), ["s3cret"], now=NOW)


def test_replayed_signature_refused_once_stale():
    sig = sign("s3cret", BODY, TS)
    verify(BODY, TS, sig, ["s3cret"], now=NOW + timedelta(seconds=30))
    with pytest.raises(WebhookSignatureError):
        verify(BODY, TS, sig, ["s3cret"], now=NOW + timedelta(seconds=90))


def test_rotated_secrets_current_and_previous_accepted_others_refused():
    verify(BODY, TS, sign("old", BODY, TS), ["new", "old"], now=NOW)
    verify(BODY, TS, sign("new", BODY, TS), ["new", "old"], now=NOW)
    with pytest.raises(WebhookSignatureError):
        verify(BODY, TS, sign("older", BODY, TS), ["new", "old"], now=NOW)


def test_any_of_several_signatures_accepted():
    header = f"{'0' * 64}, {sign('s3cret', BODY, TS)}"
    verify(BODY, TS, header, ["s3cret"], now=NOW)
    with pytest.raises(WebhookSignatureError):
        verify(BODY, TS, f"{'0' * 64},{'1' * 64}", ["s3cret"], now=NOW)


@pytest.mark.parametrize("header", [None, "", " , "])
def test_missing_signature_refused(header):
    with pytest.raises(WebhookSignatureError):
        verify(BODY, TS, header, ["s3cret"], now=NOW)


def test_no_secret_configured_refuses_everything():
    with pytest.raises(WebhookSignatureError, match="no webhook secret"):
        verify(BODY, TS, sign("", BODY, TS), ["", None], now=NOW)


@pytest.mark.parametrize("ts", [None, "", "yesterday", "9" * 80, "2026-13-01T00:00:00Z"])
def test_malformed_timestamp_refused(ts):
    with pytest.raises(WebhookSignatureError):
        verify(BODY, ts, "ab" * 32, ["s3cret"], now=NOW)


def test_unix_timestamp_accepted():
    ts = str(int(NOW.timestamp()))
    verify(BODY, ts, sign("s3cret", BODY, ts), ["s3cret"], now=NOW)


def test_session_secret_comparison():
    stored = hash_secret("tool-secret")
    assert secrets_equal(stored, "tool-secret")
    assert not secrets_equal(stored, "tool-secreT")
    assert not secrets_equal(stored, None)
    assert not secrets_equal("", "tool-secret")


@settings(max_examples=300, deadline=None)
@given(body=st.binary(max_size=512), ts=st.text(max_size=40), sig=st.text(max_size=200))
def test_fuzz_forged_webhooks_never_accepted(body, ts, sig):
    try:
        verify(body, ts, sig, ["s3cret"], now=NOW)
    except WebhookSignatureError:
        return
    pytest.fail("forged webhook accepted")


@settings(max_examples=200, deadline=None)
@given(body=st.binary(max_size=256), flip=st.integers(min_value=0, max_value=255))
def test_fuzz_any_body_change_breaks_signature(body, flip):
    sig = sign("s3cret", body, TS)
    verify(body, TS, sig, ["s3cret"], now=NOW)
    changed = body + bytes([flip])
    with pytest.raises(WebhookSignatureError):
        verify(changed, TS, sig, ["s3cret"], now=NOW)


def test_parse_event_and_dedupe_key():
    event = parse_event(BODY)
    assert (event.event, event.call_id) == ("call.ended", "c-1")
    assert event.dedupe_key == parse_event(BODY).dedupe_key
    other = parse_event(json.dumps({"event": "call.started", "call": {"callId": "c-1"}}).encode())
    assert other.dedupe_key != event.dedupe_key


@pytest.mark.parametrize(
    "raw",
    [b"", b"[]", b"{", b'{"event":"call_started","call":{"callId":"x"}}', b'{"event":"call.ended"}',
     b'{"event":"call.ended","call":{"callId":5}}', b'{"event":"call.ended","call":{"callId":""}}',
     b"\xff\xfe", b"[" * 5000],
)
def test_parse_event_rejects_bad_payloads(raw):
    with pytest.raises(WebhookPayloadError):
        parse_event(raw)


@settings(max_examples=300, deadline=None)
@given(payload=st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                            lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4)))
def test_fuzz_parse_event_only_raises_payload_errors(payload):
    try:
        parse_event(json.dumps(payload).encode())
    except WebhookPayloadError:
        pass


def test_durations_and_transcript():
    assert parse_duration_seconds("12.5s") == 12.5
    assert parse_duration_seconds("abc") is None
    assert parse_duration_seconds(-1) is None
    text = format_transcript([
        {"role": "MESSAGE_ROLE_AGENT", "text": "Hello"},
        {"role": "MESSAGE_ROLE_USER", "text": "Hi"},
        {"role": "MESSAGE_ROLE_TOOL_CALL", "toolName": "book_appointment", "text": "{}"},
        {"role": "OTHER", "text": "x"},
        "junk",
    ])
    assert text == "Agent: Hello\nUser: Hi\nTool call: book_appointment {}"
