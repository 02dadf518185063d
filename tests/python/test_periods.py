"""The points of a report chart over a period: few enough that each keeps a readable date."""

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voice_agent.web.periods import MAX_CHART_POINTS, bucket_of, chart_buckets, chart_grain


def test_a_week_is_shown_by_day_a_month_by_week_a_year_by_month():
    assert chart_grain(date(2026, 11, 23), date(2026, 11, 29)) == "day"
    assert chart_grain(date(2026, 10, 29), date(2026, 11, 28)) == "week"
    assert chart_grain(date(2026, 1, 1), date(2026, 12, 31)) == "month"
    assert chart_grain(date(2016, 1, 1), date(2026, 12, 31)) == "year"


def test_buckets_start_on_the_first_day_of_their_week_month_and_year():
    assert chart_buckets(date(2026, 10, 29), date(2026, 11, 28), "week") == [
        date(2026, 10, 26), date(2026, 11, 2), date(2026, 11, 9), date(2026, 11, 16), date(2026, 11, 23)]
    assert chart_buckets(date(2026, 11, 30), date(2027, 2, 1), "month") == [
        date(2026, 11, 1), date(2026, 12, 1), date(2027, 1, 1), date(2027, 2, 1)]
    assert chart_buckets(date(2024, 2, 29), date(2026, 1, 1), "year") == [
        date(2024, 1, 1), date(2025, 1, 1), date(2026, 1, 1)]
    with pytest.raises(ValueError):
        bucket_of(date(2026, 1, 1), "fortnight")


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 1, 1)), st.integers(0, 3660))
def test_every_day_of_the_period_falls_in_exactly_one_of_at_most_max_points_buckets(start, length):
    end = start + timedelta(days=length)
    grain = chart_grain(start, end)
    buckets = chart_buckets(start, end, grain)
    assert grain == "year" or len(buckets) <= MAX_CHART_POINTS
    assert buckets == sorted(set(buckets))
    for day in (start, end, start + timedelta(days=length // 2)):
        assert bucket_of(day, grain) in buckets
