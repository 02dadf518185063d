from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voice_agent.calling.metrics import QualitySummary, durations, mos_score, quality_label
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


def sample(loss, jitter, rtt, bitrate=32.0):
    return {"packetLossPct": loss, "jitterMs": jitter, "rttMs": rtt, "bitrateKbps": bitrate}


def test_quality_summary_is_the_mean_of_samples_and_rtt_skips_nulls():
    q = QualitySummary()
    for s in [sample(0, 2, 40, 30), sample(2, 4, None, 34), sample(1, 6, 60, 32)]:
        q = q.add(s)
    assert q.samples == 3 and q.rtt_samples == 2
    assert q.packet_loss_pct == pytest.approx(1.0)
    assert q.jitter_ms == pytest.approx(4.0)
    assert q.rtt_ms == pytest.approx(50.0)
    assert q.bitrate_kbps == pytest.approx(32.0)
    assert q.as_dict()["label"] == q.label() != ""


@given(st.lists(st.tuples(st.floats(0, 100), st.floats(0, 500), st.floats(0, 2000)), min_size=1, max_size=30))
def test_running_means_equal_plain_means(values):
    q = QualitySummary()
    for loss, jitter, rtt in values:
        q = q.add(sample(loss, jitter, rtt))
    assert q.packet_loss_pct == pytest.approx(sum(v[0] for v in values) / len(values), abs=1e-6)
    assert q.jitter_ms == pytest.approx(sum(v[1] for v in values) / len(values), abs=1e-6)
    assert q.rtt_ms == pytest.approx(sum(v[2] for v in values) / len(values), abs=1e-6)
    assert 1.0 <= q.mos() <= 4.5


def test_mos_falls_with_loss_jitter_and_delay():
    clean = mos_score(0, 0, 20)
    assert clean >= 4.3 and quality_label(clean) == "Excellent"
    assert mos_score(3, 0, 20) < clean
    assert mos_score(0, 40, 20) < clean
    assert mos_score(0, 0, 600) < clean
    assert quality_label(mos_score(20, 80, 800)) == "Bad"
    assert QualitySummary().mos() is None and QualitySummary().label() == ""


def test_turn_rest_credentials_match_coturns_scheme():
    username, credential = turn_rest_credentials(
        "s3cret", "agent@example.com", ttl_sec=600, now=1_800_000_000
    )
    assert username == "1800000600:agent@example.com"
    # echo -n "$username" | openssl dgst -sha1 -hmac s3cret -binary | base64
    assert credential == "kvyFs/Ml336Imjkyq+ic/l0aYQA="
