from datetime import datetime, timedelta, timezone

from voice_agent.calling.metrics import Presence, durations, everyone_left_at, mos_score, quality_label
from voice_agent.calling.turn import turn_rest_credentials

T0 = datetime(2026, 11, 23, 3, 0, 0, tzinfo=timezone.utc)


def at(seconds):
    return T0 + timedelta(seconds=seconds)


def test_answered_call_durations():
    d = durations(T0, at(4.5), at(64.5))
    assert (d.ring, d.talk, d.total) == (4.5, 60.0, 64.5)


def test_unanswered_call_rings_until_the_end():
    d = durations(T0, None, at(30))
    assert (d.ring, d.talk, d.total) == (30.0, 0.0, 30.0)


def test_live_call_counts_up_to_now_and_unknown_start_counts_zero():
    live = durations(T0, at(2), None, now=at(12))
    assert (live.ring, live.talk, live.total) == (2.0, 10.0, 12.0)
    assert durations(None, None, None) == durations(T0, None, None)


def test_clock_skew_never_gives_negative_durations():
    d = durations(at(10), at(5), at(1))
    assert min(d.ring, d.talk, d.total) == 0.0


def test_talk_ends_when_the_last_party_leaves_not_when_the_empty_room_closes():
    # Both browsers closed without hanging up at 40 s and 41.5 s; the sidecar ended the empty room 60 s later.
    left = everyone_left_at(
        [Presence("agent", at(40)), Presence("customer", at(41.5)), Presence("supervisor", None)]
    )
    assert left == at(41.5)
    d = durations(T0, at(3), at(101.5), everyone_left=left)
    assert (d.ring, d.talk, d.total) == (3.0, 38.5, 41.5)


def test_a_live_call_whose_parties_all_left_stops_counting():
    d = durations(T0, at(3), None, now=at(90), everyone_left=at(30))
    assert (d.ring, d.talk, d.total) == (3.0, 27.0, 30.0)


def test_an_unanswered_call_rings_until_its_only_party_left():
    d = durations(T0, None, at(70), everyone_left=everyone_left_at([Presence("agent", at(10))]))
    assert (d.ring, d.talk, d.total) == (10.0, 0.0, 10.0)


def test_the_call_goes_on_while_a_party_is_in_it():
    # A supervisor leaving, or one party leaving, does not end the talk.
    assert everyone_left_at([Presence("agent", None), Presence("customer", at(20))]) is None
    assert everyone_left_at([Presence("whatsapp", None), Presence("supervisor", at(5))]) is None
    assert everyone_left_at([Presence("supervisor", at(5))]) is None
    assert everyone_left_at([]) is None
    d = durations(T0, at(3), at(64), everyone_left=None)
    assert d.talk == 61.0
    # A late departure (the call_ended leave reported after the end) never lengthens the call.
    assert durations(T0, at(3), at(64), everyone_left=at(64.2)).talk == 61.0


def test_mos_falls_with_loss_jitter_and_delay():
    clean = mos_score(0, 0, 20)
    assert clean >= 4.3 and quality_label(clean) == "Excellent"
    assert mos_score(3, 0, 20) < clean
    assert mos_score(0, 40, 20) < clean
    assert mos_score(0, 0, 600) < clean
    assert quality_label(mos_score(20, 80, 800)) == "Bad"
    assert quality_label(None) == ""


def test_turn_rest_credentials_match_coturns_scheme():
    username, credential = turn_rest_credentials(
        "s3cret", "agent@example.com", ttl_sec=600, now=1_800_000_000
    )
    assert username == "1800000600:agent@example.com"
    # echo -n "$username" | openssl dgst -sha1 -hmac s3cret -binary | base64
    assert credential == "kvyFs/Ml336Imjkyq+ic/l0aYQA="
