"""Bill-cycle dates, half-open billing periods, billing intervals and day-based proration.

Dates are calendar dates in the account's timezone; `local_start_utc` turns a date into the
UTC instant at which it starts there. Periods are half-open: [start, end).

A `Schedule` cuts time into periods of one interval (week, month, quarter, year):
- anniversary alignment anchors the periods on the subscription's start date;
- calendar alignment anchors them on the bill-cycle day (of every month; of January, April,
  July and October for quarters; of January for years; a weekday 1=Monday..7=Sunday for weeks),
  so a subscription that starts between two boundaries gets a prorated first period.
Month arithmetic is always computed from the anchor, never chained, and clamps to the month's
last day: an anchor on the 31st gives Jan 31 -> Feb 28 (29 in leap years) -> Mar 31 -> Apr 30.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from billing.money import precise_ratio, require_decimal


def _require_bill_cycle_day(bill_cycle_day: int) -> None:
    if isinstance(bill_cycle_day, bool) or not isinstance(bill_cycle_day, int):
        raise TypeError(f"bill_cycle_day must be an int, got {type(bill_cycle_day).__name__}")
    if not 1 <= bill_cycle_day <= 31:
        raise ValueError(f"bill_cycle_day must be between 1 and 31, got {bill_cycle_day}")


def _require_date(value: object, name: str) -> date:
    if isinstance(value, datetime) or not isinstance(value, date):
        raise TypeError(f"{name} must be a date (not a datetime), got {type(value).__name__}")
    return value


_DAYS_IN_MONTH = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def days_in_month(year: int, month: int) -> int:
    """The number of days of `month` in `year` (a faster calendar.monthrange(...)[1])."""
    if month == 2 and calendar.isleap(year):
        return 29
    return _DAYS_IN_MONTH[month - 1]


def cycle_on(year: int, month: int, bill_cycle_day: int) -> date:
    """The bill-cycle date in `year`-`month`, clamped to the month's last day."""
    _require_bill_cycle_day(bill_cycle_day)
    return date(year, month, min(bill_cycle_day, days_in_month(year, month)))


def is_cycle_on(day: date, bill_cycle_day: int) -> bool:
    """Whether `day` is the bill-cycle date of its month."""
    return _require_date(day, "day") == cycle_on(day.year, day.month, bill_cycle_day)


def _require_cycle_on(cycle: date, bill_cycle_day: int) -> None:
    if not is_cycle_on(cycle, bill_cycle_day):
        expected = cycle_on(cycle.year, cycle.month, bill_cycle_day)
        raise ValueError(
            f"{cycle.isoformat()} is not a bill-cycle date for bill_cycle_day {bill_cycle_day}: "
            f"the cycle date in that month is {expected.isoformat()}"
        )


def _shift_month(year: int, month: int, months: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + months
    return index // 12, index % 12 + 1


def next_cycle_on(cycle: date, bill_cycle_day: int) -> date:
    """The cycle date one month after `cycle` (Jan 31 -> Feb 28 -> Mar 31 for bcd 31)."""
    _require_cycle_on(cycle, bill_cycle_day)
    return cycle_on(*_shift_month(cycle.year, cycle.month, 1), bill_cycle_day)


def previous_cycle_on(cycle: date, bill_cycle_day: int) -> date:
    """The cycle date one month before `cycle`."""
    _require_cycle_on(cycle, bill_cycle_day)
    return cycle_on(*_shift_month(cycle.year, cycle.month, -1), bill_cycle_day)


def zone(timezone: str) -> ZoneInfo:
    """The IANA zone named `timezone`; ValueError with a clear message when unknown."""
    try:
        return ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as error:
        raise ValueError(
            f"unknown timezone {timezone!r}: use an IANA name such as 'Europe/Paris'"
        ) from error


def local_start_utc(day: date, timezone: str) -> datetime:
    """The UTC instant at which `day` starts in `timezone`.

    On a day whose midnight is skipped by DST (America/Santiago, ...), fold=0 resolves
    midnight with the pre-transition offset, which is exactly the transition instant.
    """
    local_midnight = datetime.combine(_require_date(day, "day"), time(0), tzinfo=zone(timezone))
    return local_midnight.astimezone(UTC)


@dataclass(frozen=True)
class BillingPeriod:
    """A half-open range of calendar dates [start, end)."""

    start: date
    end: date

    def __post_init__(self) -> None:
        _require_date(self.start, "start")
        _require_date(self.end, "end")
        if self.start >= self.end:
            raise ValueError(f"a billing period needs start < end, got [{self.start}, {self.end})")

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    def contains(self, day: date) -> bool:
        return self.start <= day < self.end

    def bounds_utc(self, timezone: str) -> tuple[datetime, datetime]:
        """The period's [start, end) as UTC instants, dates read in `timezone`."""
        return local_start_utc(self.start, timezone), local_start_utc(self.end, timezone)


def prorate(amount: Decimal, part_days: int, whole_days: int) -> Decimal:
    """`amount` x part_days / whole_days, at 9-place precision."""
    amount = require_decimal(amount, "amount")
    for name, value in (("part_days", part_days), ("whole_days", whole_days)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if whole_days <= 0:
        raise ValueError(f"whole_days must be positive, got {whole_days}")
    if not 0 <= part_days <= whole_days:
        raise ValueError(
            f"part_days must be between 0 and whole_days ({whole_days}), got {part_days}"
        )
    return precise_ratio(amount, part_days, whole_days)


Interval = Literal["week", "month", "quarter", "year"]
Alignment = Literal["anniversary", "calendar"]
INTERVAL_MONTHS: dict[str, int] = {"week": 0, "month": 1, "quarter": 3, "year": 12}


def add_months(anchor: date, months: int) -> date:
    """`anchor` moved by `months` months, clamped to the month's last day (Jan 31 + 1 -> Feb 28)."""
    year, month = _shift_month(anchor.year, anchor.month, months)
    return date(year, month, min(anchor.day, days_in_month(year, month)))


def add_intervals(anchor: date, interval: Interval, count: int) -> date:
    """`anchor` moved by `count` intervals, computed from the anchor (month ends clamped)."""
    if interval == "week":
        return date.fromordinal(anchor.toordinal() + 7 * count)
    return add_months(anchor, INTERVAL_MONTHS[interval] * count)


@dataclass(frozen=True)
class Grid:
    """Period boundaries: boundary k is `k` steps from an anchor (a month index and a day for
    month-based intervals, clamped to each month's end; an ordinal day for weeks)."""

    step_months: int  # 0 for weeks
    anchor_index: int  # year * 12 + month - 1, or a date ordinal for weeks
    day: int  # day of month (1..31) of every boundary; unused for weeks

    def boundary(self, k: int) -> date:
        if self.step_months == 0:
            return date.fromordinal(self.anchor_index + 7 * k)
        index = self.anchor_index + self.step_months * k
        year, month = index // 12, index % 12 + 1
        return date(year, month, min(self.day, days_in_month(year, month)))

    def index_on_or_before(self, day: date) -> int:
        """The largest k whose boundary is on or before `day`."""
        if self.step_months == 0:
            return (day.toordinal() - self.anchor_index) // 7
        k = (day.year * 12 + day.month - 1 - self.anchor_index) // self.step_months
        return k - 1 if self.boundary(k) > day else k

    def period(self, k: int) -> BillingPeriod:
        return BillingPeriod(self.boundary(k), self.boundary(k + 1))

    def period_containing(self, day: date) -> BillingPeriod:
        return self.period(self.index_on_or_before(day))

    def periods_starting_in(self, window: BillingPeriod) -> list[BillingPeriod]:
        """Grid periods whose start lies in the half-open `window`."""
        k = self.index_on_or_before(window.start)
        if self.boundary(k) < window.start:
            k += 1
        periods: list[BillingPeriod] = []
        while self.boundary(k) < window.end:
            periods.append(self.period(k))
            k += 1
        return periods

    def periods_ending_in(self, window: BillingPeriod) -> list[BillingPeriod]:
        """Grid periods whose end lies in (window.start, window.end] (billed in arrears)."""
        k = self.index_on_or_before(window.start)  # boundary(k) <= start: period k-1 ends <= start
        periods: list[BillingPeriod] = []
        while self.boundary(k + 1) <= window.end:
            if self.boundary(k + 1) > window.start:
                periods.append(self.period(k))
            k += 1
        return periods


@dataclass(frozen=True)
class Schedule:
    """How a subscription's recurring fees are cut into periods.

    `bill_cycle_day` is for calendar alignment only (1..31; 1..7 = Monday..Sunday for weeks);
    None means the account's bill-cycle day (for weeks: Monday).
    """

    interval: Interval = "month"
    alignment: Alignment = "calendar"
    bill_cycle_day: int | None = None

    def __post_init__(self) -> None:
        problems = self.validate()
        if problems:
            raise ValueError("; ".join(problems))

    def validate(self) -> list[str]:
        problems: list[str] = []
        if self.interval not in INTERVAL_MONTHS:
            problems.append(
                f"schedule interval {self.interval!r} is unknown: use week, month, quarter or year"
            )
        if self.alignment not in ("anniversary", "calendar"):
            problems.append(
                f"schedule alignment {self.alignment!r} is unknown: use anniversary or calendar"
            )
        day = self.bill_cycle_day
        if day is not None:
            if self.alignment == "anniversary":
                problems.append(
                    "schedule bill_cycle_day is only for calendar alignment: drop it for "
                    "anniversary periods (anchored on the subscription start)"
                )
            high = 7 if self.interval == "week" else 31
            if isinstance(day, bool) or not isinstance(day, int) or not 1 <= day <= high:
                problems.append(f"schedule bill_cycle_day must be an int 1..{high}, got {day!r}")
        return problems

    def grid(self, started_on: date, account_bill_cycle_day: int) -> Grid:
        """The period boundaries of a subscription that started on `started_on`."""
        step = INTERVAL_MONTHS[self.interval]
        if self.alignment == "anniversary":
            if step == 0:
                return Grid(0, started_on.toordinal(), 0)
            return Grid(step, started_on.year * 12 + started_on.month - 1, started_on.day)
        if step == 0:
            weekday = self.bill_cycle_day or 1
            monday = date(2001, 1, 1).toordinal()  # a Monday
            return Grid(0, monday + weekday - 1, 0)
        day = self.bill_cycle_day or account_bill_cycle_day
        return Grid(step, 2001 * 12, day)  # January: quarters start Jan/Apr/Jul/Oct


MONTHLY = Schedule()
