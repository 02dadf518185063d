"""Rate and cost caps: when the bot may reply, when it must pause, why and until when; the cost of a
reply from its token usage and the model's price."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import pytest

from voice_agent.bot.limits import (
    CAP_ORDER,
    DEFAULT_PRICES,
    Allowed,
    Caps,
    CostCap,
    ModelPrice,
    Paused,
    RateCap,
    Spend,
    check,
    cost,
    price_for,
)
from voice_agent.integrations.llm.base import Usage

NOW = datetime(2030, 5, 1, 12, 0, tzinfo=timezone.utc)
NO_CAPS = Caps(conversation_rate=())


def ago(seconds, spent=0.0):
    return Spend(NOW - timedelta(seconds=seconds), spent)


# --- cost ------------------------------------------------------------------------------------------


def test_cost_prices_each_kind_of_token():
    price = ModelPrice(input=3.0, output=15.0, cache_read=0.3, cache_write=3.75)
    usage = Usage(input_tokens=10_000, output_tokens=1_000, cache_read_tokens=6_000, cache_write_tokens=2_000)
    expected = (2_000 * 3.0 + 6_000 * 0.3 + 2_000 * 3.75 + 1_000 * 15.0) / 1_000_000
    assert math.isclose(cost(usage, price), expected)


def test_cached_tokens_cost_the_input_price_when_not_priced_apart():
    price = ModelPrice(input=2.0, output=8.0)
    usage = Usage(input_tokens=1_000, output_tokens=500, cache_read_tokens=400)
    assert math.isclose(cost(usage, price), (1_000 * 2.0 + 500 * 8.0) / 1_000_000)


def test_usage_adds_up_across_the_requests_of_one_reply():
    price = ModelPrice(input=1.0, output=1.0)
    first, second = Usage(100, 10), Usage(250, 20)
    assert math.isclose(cost(first + second, price), cost(first, price) + cost(second, price))
    assert cost(Usage(), price) == 0


def test_inconsistent_usage_never_costs_less_than_its_cached_part():
    price = ModelPrice(input=1.0, output=0.0, cache_read=0.5)
    assert cost(Usage(input_tokens=10, cache_read_tokens=100), price) == pytest.approx(100 * 0.5 / 1_000_000)


def test_prices_from_the_profile_beat_the_defaults():
    own = {"gpt-4o-mini": ModelPrice(1.0, 2.0), "llama-3.1-70b": ModelPrice(0.5, 0.5)}
    assert price_for("gpt-4o-mini", own) == own["gpt-4o-mini"]
    assert price_for("llama-3.1-70b", own) == own["llama-3.1-70b"]
    assert price_for("gpt-4o-mini") == DEFAULT_PRICES["gpt-4o-mini"]


def test_a_dated_model_id_is_priced_by_its_longest_known_name():
    assert price_for("gpt-4o-mini-2024-07-18") == DEFAULT_PRICES["gpt-4o-mini"]
    assert price_for("gpt-4o-2024-08-06") == DEFAULT_PRICES["gpt-4o"]
    assert price_for("claude-sonnet-4-20250514") == DEFAULT_PRICES["claude-sonnet-4"]


def test_an_unknown_model_has_no_price():
    assert price_for("my-local-model") is None
    assert price_for("gpt-4omni") is None  # a known name must be followed by a dash


@pytest.mark.parametrize("kwargs", [{"input": -1, "output": 1}, {"input": 1, "output": math.nan},
                                    {"input": 1, "output": 1, "cache_read": -0.1}, {"input": True, "output": 1},
                                    {"input": "1", "output": 1}])
def test_bad_prices_are_refused(kwargs):
    with pytest.raises(ValueError):
        ModelPrice(**kwargs)


# --- rate caps -------------------------------------------------------------------------------------


def test_replies_below_the_rate_cap_are_allowed():
    caps = Caps(conversation_rate=(RateCap(3, timedelta(minutes=1)),))
    verdict = check([ago(10), ago(20)], [], caps, NOW)
    assert verdict == Allowed() and verdict.allowed


def test_the_rate_cap_pauses_until_the_oldest_reply_leaves_the_window():
    caps = Caps(conversation_rate=(RateCap(3, timedelta(minutes=1)),))
    verdict = check([ago(10), ago(50), ago(30), ago(100)], [], caps, NOW)
    assert isinstance(verdict, Paused) and not verdict.allowed
    assert verdict.cap == "conversation_rate"
    assert verdict.until == NOW + timedelta(seconds=10)  # the reply 50 s ago leaves in 10 s
    assert verdict.detail == "The bot sent 3 replies in this conversation within 1 minute (at most 3)."


def test_a_reply_exactly_one_period_ago_no_longer_counts():
    caps = Caps(conversation_rate=(RateCap(2, timedelta(minutes=1)),))
    assert check([ago(60), ago(5)], [], caps, NOW) == Allowed()
    assert isinstance(check([ago(59), ago(5)], [], caps, NOW), Paused)


def test_after_the_pause_the_bot_may_reply_again():
    caps = Caps(conversation_rate=(RateCap(3, timedelta(minutes=1)),))
    spends = [ago(10), ago(50), ago(30)]
    until = check(spends, [], caps, NOW).until
    assert check(spends, [], caps, until) == Allowed()
    assert isinstance(check(spends, [], caps, until - timedelta(seconds=1)), Paused)


def test_the_default_caps_stop_a_runaway_conversation():
    assert check([ago(i) for i in range(5)], [], Caps(), NOW) == Allowed()
    assert check([ago(i) for i in range(6)], [], Caps(), NOW).cap == "conversation_rate"
    hourly = [ago(90 * i + 61) for i in range(40)]  # 40 in the hour, none in the last minute
    assert check(hourly, [], Caps(), NOW) == Allowed()
    assert check(hourly * 2, [], Caps(), NOW).detail.endswith("within 1 hour (at most 60).")


def test_the_account_rate_cap_counts_every_conversation_of_the_account():
    caps = Caps(conversation_rate=(), account_rate=(RateCap(100, timedelta(hours=1)),))
    account = [ago(30 * i) for i in range(100)]
    verdict = check([], account, caps, NOW)
    assert verdict.cap == "account_rate"
    assert verdict.until == NOW - timedelta(seconds=30 * 99) + timedelta(hours=1)
    assert "this WhatsApp account" in verdict.detail


# --- cost caps -------------------------------------------------------------------------------------


def test_a_conversation_under_its_cost_cap_is_allowed():
    caps = Caps(conversation_rate=(), conversation_cost=CostCap(0.50))
    assert check([ago(100, 0.2), ago(50, 0.29)], [], caps, NOW) == Allowed()


def test_a_conversation_over_its_lifetime_cost_cap_waits_for_a_person():
    caps = Caps(conversation_rate=(), conversation_cost=CostCap(0.50))
    verdict = check([ago(86400 * 3, 0.3), ago(50, 0.2)], [], caps, NOW)
    assert verdict.cap == "conversation_cost" and verdict.until is None
    assert verdict.detail == "The bot spent 0.5000 in this conversation in total (cap 0.5)."


def test_a_rolling_cost_cap_pauses_until_enough_spend_has_aged_out():
    caps = Caps(conversation_rate=(), account_cost=CostCap(10.0, timedelta(days=1)))
    spends = [Spend(NOW - timedelta(hours=20), 4.0), Spend(NOW - timedelta(hours=10), 4.0),
              Spend(NOW - timedelta(hours=1), 3.0), Spend(NOW - timedelta(days=2), 50.0)]
    verdict = check([], spends, caps, NOW)
    assert verdict.cap == "account_cost"
    assert verdict.until == NOW + timedelta(hours=4)  # 20 h ago + 24 h: 7.0 left, below 10
    assert verdict.detail == "The bot spent 11.0000 in this WhatsApp account within 1 day (cap 10)."
    assert check([], spends, caps, verdict.until) == Allowed()


def test_future_spends_are_not_counted():
    caps = Caps(conversation_rate=(RateCap(1, timedelta(minutes=1)),), conversation_cost=CostCap(1.0))
    assert check([Spend(NOW + timedelta(seconds=5), 5.0)], [], caps, NOW) == Allowed()


# --- several caps ----------------------------------------------------------------------------------


def test_the_pause_reported_is_the_one_that_ends_last():
    caps = Caps(conversation_rate=(RateCap(2, timedelta(minutes=1)), RateCap(3, timedelta(hours=1))),
                account_cost=CostCap(1.0, timedelta(days=1)))
    conversation = [ago(10), ago(20), ago(1800)]
    account = [ago(3600 * 5, 1.0)]
    verdict = check(conversation, account, caps, NOW)
    assert verdict.cap == "account_cost"
    assert verdict.until == NOW + timedelta(hours=19)
    without_cost = check(conversation, [], caps, NOW)
    assert without_cost.cap == "conversation_rate" and without_cost.until == NOW + timedelta(minutes=30)


def test_a_pause_without_end_outranks_any_other():
    caps = Caps(conversation_rate=(RateCap(1, timedelta(days=7)),), conversation_cost=CostCap(0.1))
    verdict = check([ago(60, 0.1)], [], caps, NOW)
    assert (verdict.cap, verdict.until) == ("conversation_cost", None)


def test_equal_pauses_are_reported_in_cap_order():
    period = timedelta(hours=1)
    caps = Caps(conversation_rate=(RateCap(1, period),), account_rate=(RateCap(1, period),),
                conversation_cost=CostCap(1.0, period), account_cost=CostCap(1.0, period))
    spend = [ago(60, 1.0)]
    assert check(spend, spend, caps, NOW).cap == CAP_ORDER[0] == "conversation_cost"
    only_rates = Caps(conversation_rate=(RateCap(1, period),), account_rate=(RateCap(1, period),))
    assert check(spend, spend, only_rates, NOW).cap == "conversation_rate"


def test_no_caps_no_pause():
    assert check([ago(i, 100.0) for i in range(1000)], [ago(1, 1e6)], NO_CAPS, NOW) == Allowed()


# --- input checks ----------------------------------------------------------------------------------


def test_naive_times_are_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        check([], [], Caps(), datetime(2030, 5, 1, 12))
    with pytest.raises(ValueError, match="timezone-aware"):
        check([Spend(datetime(2030, 5, 1, 11))], [], Caps(), NOW)


@pytest.mark.parametrize("make", [
    lambda: RateCap(0, timedelta(minutes=1)),
    lambda: RateCap(True, timedelta(minutes=1)),
    lambda: RateCap(5, timedelta(0)),
    lambda: CostCap(0),
    lambda: CostCap(-1.0),
    lambda: CostCap(math.inf),
    lambda: CostCap(1.0, timedelta(seconds=-1)),
])
def test_bad_caps_are_refused(make):
    with pytest.raises(ValueError):
        make()


def test_periods_read_naturally_in_the_detail():
    for period, words in ((timedelta(days=2), "2 days"), (timedelta(hours=1), "1 hour"),
                          (timedelta(minutes=90), "90 minutes"), (timedelta(seconds=45), "45 seconds")):
        caps = Caps(conversation_rate=(RateCap(1, period),))
        assert f"within {words} " in check([ago(1)], [], caps, NOW).detail
