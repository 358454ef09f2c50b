"""Bill-cycle dates, half-open periods, local day starts in UTC, proration."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.money import to_minor
from billing.periods import (
    BillingPeriod,
    cycle_on,
    is_cycle_on,
    local_start_utc,
    next_cycle_on,
    previous_cycle_on,
    prorate,
)

D = Decimal


@pytest.mark.parametrize(
    ("year", "month", "bill_cycle_day", "expected"),
    [
        (2025, 1, 31, date(2025, 1, 31)),
        (2025, 2, 31, date(2025, 2, 28)),
        (2025, 2, 30, date(2025, 2, 28)),
        (2025, 2, 29, date(2025, 2, 28)),
        (2028, 2, 31, date(2028, 2, 29)),
        (2028, 2, 29, date(2028, 2, 29)),
        (2028, 2, 28, date(2028, 2, 28)),
        (2025, 4, 31, date(2025, 4, 30)),
        (2025, 4, 30, date(2025, 4, 30)),
        (2025, 12, 1, date(2025, 12, 1)),
    ],
)
def test_cycle_on_clamps_to_month_end(
    year: int, month: int, bill_cycle_day: int, expected: date
) -> None:
    assert cycle_on(year, month, bill_cycle_day) == expected


@pytest.mark.parametrize("bill_cycle_day", [0, 32, -1])
def test_cycle_on_refuses_impossible_bill_cycle_days(bill_cycle_day: int) -> None:
    with pytest.raises(ValueError, match="between 1 and 31"):
        cycle_on(2025, 1, bill_cycle_day)


@pytest.mark.parametrize(
    ("day", "bill_cycle_day", "expected"),
    [
        (date(2025, 2, 28), 31, True),
        (date(2025, 2, 28), 30, True),
        (date(2028, 2, 28), 31, False),
        (date(2028, 2, 29), 31, True),
        (date(2028, 2, 28), 28, True),
        (date(2025, 4, 30), 31, True),
        (date(2025, 3, 30), 31, False),
        (date(2025, 3, 15), 15, True),
    ],
)
def test_is_cycle_on(day: date, bill_cycle_day: int, expected: bool) -> None:
    assert is_cycle_on(day, bill_cycle_day) is expected


@pytest.mark.parametrize(
    ("bill_cycle_day", "chain"),
    [
        (31, [date(2025, 1, 31), date(2025, 2, 28), date(2025, 3, 31), date(2025, 4, 30)]),
        (31, [date(2027, 12, 31), date(2028, 1, 31), date(2028, 2, 29), date(2028, 3, 31)]),
        (30, [date(2028, 1, 30), date(2028, 2, 29), date(2028, 3, 30)]),
        (30, [date(2027, 1, 30), date(2027, 2, 28), date(2027, 3, 30)]),
        (29, [date(2027, 1, 29), date(2027, 2, 28), date(2027, 3, 29)]),
        (29, [date(2028, 1, 29), date(2028, 2, 29), date(2028, 3, 29)]),
        (1, [date(2025, 11, 1), date(2025, 12, 1), date(2026, 1, 1)]),
    ],
)
def test_next_and_previous_cycle_walk_month_ends(bill_cycle_day: int, chain: list[date]) -> None:
    for earlier, later in pairwise(chain):
        assert next_cycle_on(earlier, bill_cycle_day) == later
        assert previous_cycle_on(later, bill_cycle_day) == earlier


def test_next_cycle_on_refuses_a_day_that_is_not_a_cycle_date() -> None:
    with pytest.raises(ValueError, match=r"2028-02-28 is not a bill-cycle date.*2028-02-29"):
        next_cycle_on(date(2028, 2, 28), 31)


@given(
    year=st.integers(min_value=1990, max_value=2100),
    month=st.integers(min_value=1, max_value=12),
    bill_cycle_day=st.integers(min_value=1, max_value=31),
)
def test_next_and_previous_cycle_are_inverse(year: int, month: int, bill_cycle_day: int) -> None:
    cycle = cycle_on(year, month, bill_cycle_day)
    assert next_cycle_on(previous_cycle_on(cycle, bill_cycle_day), bill_cycle_day) == cycle
    assert previous_cycle_on(next_cycle_on(cycle, bill_cycle_day), bill_cycle_day) == cycle
    assert 28 <= (next_cycle_on(cycle, bill_cycle_day) - cycle).days <= 31


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("day", "timezone", "expected"),
    [
        # America/New_York: spring forward 2025-03-09 02:00, fall back 2025-11-02 02:00
        (date(2025, 3, 9), "America/New_York", utc("2025-03-09T05:00")),
        (date(2025, 3, 10), "America/New_York", utc("2025-03-10T04:00")),
        (date(2025, 11, 2), "America/New_York", utc("2025-11-02T04:00")),
        (date(2025, 11, 3), "America/New_York", utc("2025-11-03T05:00")),
        # Europe/Paris: spring forward 2025-03-30, fall back 2025-10-26
        (date(2025, 3, 30), "Europe/Paris", utc("2025-03-29T23:00")),
        (date(2025, 3, 31), "Europe/Paris", utc("2025-03-30T22:00")),
        (date(2025, 10, 26), "Europe/Paris", utc("2025-10-25T22:00")),
        (date(2025, 10, 27), "Europe/Paris", utc("2025-10-26T23:00")),
        # Australia/Sydney: DST ends 2025-04-06, starts 2025-10-05 (southern hemisphere)
        (date(2025, 4, 6), "Australia/Sydney", utc("2025-04-05T13:00")),
        (date(2025, 4, 7), "Australia/Sydney", utc("2025-04-06T14:00")),
        (date(2025, 10, 5), "Australia/Sydney", utc("2025-10-04T14:00")),
        (date(2025, 10, 6), "Australia/Sydney", utc("2025-10-05T13:00")),
        # America/Santiago skips midnight on 2025-09-07: the day starts at the transition
        (date(2025, 9, 7), "America/Santiago", utc("2025-09-07T04:00")),
        # America/Havana repeats midnight on 2025-11-02: the day starts at the first one
        (date(2025, 11, 2), "America/Havana", utc("2025-11-02T04:00")),
        (date(2028, 2, 29), "Asia/Tokyo", utc("2028-02-28T15:00")),
        (date(2028, 2, 29), "UTC", utc("2028-02-29T00:00")),
    ],
)
def test_local_start_utc(day: date, timezone: str, expected: datetime) -> None:
    start_at = local_start_utc(day, timezone)
    assert start_at == expected
    assert start_at.tzinfo is UTC


@given(
    day=st.dates(min_value=date(2000, 1, 1), max_value=date(2040, 12, 31)),
    timezone=st.sampled_from(
        [
            "America/New_York",
            "Europe/Paris",
            "Australia/Sydney",
            "America/Santiago",
            "America/Havana",
            "Asia/Beirut",
            "Pacific/Apia",
        ]
    ),
)
def test_local_start_utc_is_the_first_instant_of_the_local_day(day: date, timezone: str) -> None:
    start_at = local_start_utc(day, timezone)
    zone = ZoneInfo(timezone)
    assert start_at.astimezone(zone).date() == day
    assert (start_at - timedelta(microseconds=1)).astimezone(zone).date() < day


def test_local_start_utc_refuses_unknown_timezones() -> None:
    with pytest.raises(ValueError, match="unknown timezone 'Mars/Olympus'"):
        local_start_utc(date(2025, 1, 1), "Mars/Olympus")


def test_billing_period_is_half_open() -> None:
    period = BillingPeriod(date(2028, 2, 1), date(2028, 3, 1))
    assert period.days == 29
    assert period.contains(date(2028, 2, 1))
    assert period.contains(date(2028, 2, 29))
    assert not period.contains(date(2028, 3, 1))
    assert not period.contains(date(2028, 1, 31))


def test_billing_period_bounds_utc_across_dst() -> None:
    period = BillingPeriod(date(2025, 3, 1), date(2025, 4, 1))
    assert period.bounds_utc("Europe/Paris") == (
        utc("2025-02-28T23:00"),
        utc("2025-03-31T22:00"),
    )


@pytest.mark.parametrize(
    ("start", "end"), [(date(2025, 1, 2), date(2025, 1, 2)), (date(2025, 1, 3), date(2025, 1, 2))]
)
def test_billing_period_refuses_empty_or_reversed_ranges(start: date, end: date) -> None:
    with pytest.raises(ValueError, match="start < end"):
        BillingPeriod(start, end)


def test_billing_period_refuses_datetimes() -> None:
    with pytest.raises(TypeError, match="not a datetime"):
        BillingPeriod(datetime(2025, 1, 1), date(2025, 2, 1))


@pytest.mark.parametrize(
    ("amount", "part_days", "whole_days", "expected"),
    [
        (D("100"), 15, 30, D("50.000000000")),
        (D("100"), 1, 3, D("33.333333333")),
        (D("100"), 2, 3, D("66.666666667")),
        (D("29.99"), 10, 29, D("10.341379310")),
        (D("1000"), 20, 30, D("666.666666667")),
        (D("0.001"), 1, 31, D("0.000032258")),
        (D("49"), 0, 28, D("0E-9")),
        (D("49"), 28, 28, D("49.000000000")),
    ],
)
def test_prorate(amount: Decimal, part_days: int, whole_days: int, expected: Decimal) -> None:
    result = prorate(amount, part_days, whole_days)
    assert result == expected
    assert result.as_tuple().exponent == -9


@pytest.mark.parametrize(
    ("part_days", "whole_days", "message"),
    [(1, 0, "whole_days must be positive"), (31, 30, "part_days"), (-1, 30, "part_days")],
)
def test_prorate_refuses_impossible_fractions(
    part_days: int, whole_days: int, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        prorate(D("10"), part_days, whole_days)


def test_prorate_refuses_floats() -> None:
    with pytest.raises(TypeError):
        prorate(10.0, 1, 2)  # type: ignore[arg-type]


@st.composite
def split_of_a_period(draw: st.DrawFn) -> tuple[int, list[int]]:
    whole_days = draw(st.integers(min_value=28, max_value=31))
    cuts = draw(st.lists(st.integers(min_value=1, max_value=whole_days - 1), max_size=6))
    bounds = [0, *sorted(set(cuts)), whole_days]
    return whole_days, [end - start for start, end in pairwise(bounds)]


@given(
    amount=st.decimals(min_value=0, max_value=10**7, places=4, allow_nan=False),
    currency=st.sampled_from(["JPY", "USD", "BHD", "CLF"]),
    split=split_of_a_period(),
)
def test_prorated_parts_sum_to_the_whole_within_one_minor_unit_per_part(
    amount: Decimal, currency: str, split: tuple[int, list[int]]
) -> None:
    whole_days, parts = split
    parts_minor = sum(to_minor(prorate(amount, part, whole_days), currency) for part in parts)
    assert abs(parts_minor - to_minor(amount, currency)) <= len(parts)
    parts_precise = sum(prorate(amount, part, whole_days) for part in parts)
    assert abs(parts_precise - amount) <= D("0.000000001") * len(parts)
