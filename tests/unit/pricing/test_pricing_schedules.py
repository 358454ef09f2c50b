"""Schedules: weekly, monthly, quarterly, annual periods; anniversary and calendar alignment."""

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.periods import BillingPeriod, Schedule, add_intervals, add_months

P = BillingPeriod


@pytest.mark.parametrize(
    ("anchor", "months", "expected"),
    [
        (date(2028, 1, 31), 1, date(2028, 2, 29)),
        (date(2028, 1, 31), 2, date(2028, 3, 31)),  # from the anchor: back to the 31st
        (date(2027, 1, 31), 1, date(2027, 2, 28)),
        (date(2027, 1, 31), 3, date(2027, 4, 30)),
        (date(2028, 2, 29), 12, date(2029, 2, 28)),
        (date(2028, 2, 29), 48, date(2032, 2, 29)),
        (date(2025, 3, 31), -1, date(2025, 2, 28)),
        (date(2025, 12, 15), 1, date(2026, 1, 15)),
    ],
)
def test_add_months_clamps_from_the_anchor(anchor: date, months: int, expected: date) -> None:
    assert add_months(anchor, months) == expected


def boundaries(schedule: Schedule, started_on: date, count: int, bcd: int = 1) -> list[date]:
    grid = schedule.grid(started_on, bcd)
    first = grid.index_on_or_before(started_on)
    return [grid.boundary(first + k) for k in range(count)]


@pytest.mark.parametrize(
    ("schedule", "started_on", "expected"),
    [
        (
            Schedule("month", "anniversary"),
            date(2028, 1, 31),
            [date(2028, 1, 31), date(2028, 2, 29), date(2028, 3, 31), date(2028, 4, 30)],
        ),
        (
            Schedule("month", "anniversary"),
            date(2027, 1, 31),
            [date(2027, 1, 31), date(2027, 2, 28), date(2027, 3, 31)],
        ),
        (
            Schedule("quarter", "anniversary"),
            date(2027, 11, 30),
            [date(2027, 11, 30), date(2028, 2, 29), date(2028, 5, 30), date(2028, 8, 30)],
        ),
        (
            Schedule("year", "anniversary"),
            date(2028, 2, 29),
            [
                date(2028, 2, 29),
                date(2029, 2, 28),
                date(2030, 2, 28),
                date(2031, 2, 28),
                date(2032, 2, 29),
            ],
        ),
        (
            Schedule("week", "anniversary"),
            date(2025, 1, 1),
            [date(2025, 1, 1), date(2025, 1, 8), date(2025, 1, 15)],
        ),
        # calendar: the period holding the start date begins before it (prorated first period)
        (Schedule("week", "calendar"), date(2025, 1, 1), [date(2024, 12, 30), date(2025, 1, 6)]),
        (Schedule("week", "calendar", 7), date(2025, 1, 1), [date(2024, 12, 29), date(2025, 1, 5)]),
        (
            Schedule("month", "calendar", 31),
            date(2028, 2, 10),
            [date(2028, 1, 31), date(2028, 2, 29), date(2028, 3, 31)],
        ),
        (
            Schedule("quarter", "calendar", 1),
            date(2025, 5, 15),
            [date(2025, 4, 1), date(2025, 7, 1), date(2025, 10, 1), date(2026, 1, 1)],
        ),
        (
            Schedule("quarter", "calendar", 31),
            date(2025, 5, 15),
            [date(2025, 4, 30), date(2025, 7, 31), date(2025, 10, 31), date(2026, 1, 31)],
        ),
        (Schedule("year", "calendar", 1), date(2028, 2, 29), [date(2028, 1, 1), date(2029, 1, 1)]),
    ],
)
def test_period_boundaries(schedule: Schedule, started_on: date, expected: list[date]) -> None:
    assert boundaries(schedule, started_on, len(expected)) == expected


def test_calendar_month_defaults_to_the_account_bill_cycle_day() -> None:
    grid = Schedule().grid(date(2025, 3, 1), account_bill_cycle_day=15)
    assert grid.period_containing(date(2025, 3, 1)) == P(date(2025, 2, 15), date(2025, 3, 15))
    assert grid.period_containing(date(2025, 3, 15)) == P(date(2025, 3, 15), date(2025, 4, 15))


def test_periods_starting_and_ending_in_a_window_are_half_open() -> None:
    grid = Schedule("week", "anniversary").grid(date(2025, 1, 1), 1)
    window = P(date(2025, 1, 15), date(2025, 2, 15))
    starts = [period.start for period in grid.periods_starting_in(window)]
    assert starts == [
        date(2025, 1, 15),
        date(2025, 1, 22),
        date(2025, 1, 29),
        date(2025, 2, 5),
        date(2025, 2, 12),
    ]
    ends = [period.end for period in grid.periods_ending_in(window)]
    assert ends == [date(2025, 1, 22), date(2025, 1, 29), date(2025, 2, 5), date(2025, 2, 12)]


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        (lambda: Schedule("fortnight"), "interval 'fortnight' is unknown"),  # type: ignore[arg-type]
        (lambda: Schedule("month", "fiscal"), "alignment 'fiscal' is unknown"),  # type: ignore[arg-type]
        (lambda: Schedule("week", "calendar", 8), "bill_cycle_day must be an int 1..7"),
        (lambda: Schedule("month", "calendar", 32), "bill_cycle_day must be an int 1..31"),
        (lambda: Schedule("month", "anniversary", 5), "only for calendar alignment"),
    ],
)
def test_invalid_schedules_are_refused(schedule: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        schedule()  # type: ignore[operator]


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("timezone", "period", "expected", "hours"),
    [
        # the week of the spring-forward Sunday is one hour short in Paris
        (
            "Europe/Paris",
            P(date(2025, 3, 24), date(2025, 3, 31)),
            (utc("2025-03-23T23:00"), utc("2025-03-30T22:00")),
            167,
        ),
        # and the week of the fall-back Sunday one hour long in New York
        (
            "America/New_York",
            P(date(2025, 10, 27), date(2025, 11, 3)),
            (utc("2025-10-27T04:00"), utc("2025-11-03T05:00")),
            169,
        ),
        # a quarter over both Sydney transitions
        (
            "Australia/Sydney",
            P(date(2025, 4, 1), date(2025, 7, 1)),
            (utc("2025-03-31T13:00"), utc("2025-06-30T14:00")),
            91 * 24 + 1,
        ),
    ],
)
def test_periods_in_the_account_timezone_across_dst(
    timezone: str, period: BillingPeriod, expected: tuple[datetime, datetime], hours: int
) -> None:
    start_at, end_at = period.bounds_utc(timezone)
    assert (start_at, end_at) == expected
    assert end_at - start_at == timedelta(hours=hours)


@given(
    started_on=st.dates(min_value=date(2000, 1, 1), max_value=date(2040, 12, 31)),
    interval=st.sampled_from(["week", "month", "quarter", "year"]),
    alignment=st.sampled_from(["anniversary", "calendar"]),
    bcd=st.integers(1, 28),
    offset=st.integers(0, 3000),
)
def test_grid_periods_tile_time(
    started_on: date, interval: str, alignment: str, bcd: int, offset: int
) -> None:
    bill_cycle_day = min(bcd, 7) if interval == "week" else bcd
    schedule = Schedule(interval, alignment, None if alignment == "anniversary" else bill_cycle_day)  # type: ignore[arg-type]
    grid = schedule.grid(started_on, 1)
    day = started_on + timedelta(days=offset)
    period = grid.period_containing(day)
    assert period.contains(day)
    assert grid.period_containing(period.end).start == period.end
    if alignment == "anniversary":
        assert grid.period_containing(started_on).start == started_on
        k = grid.index_on_or_before(day)
        assert period.start == add_intervals(started_on, interval, k)  # type: ignore[arg-type]
