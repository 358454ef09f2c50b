"""Bill-cycle dates, half-open billing periods and day-based proration.

Dates are calendar dates in the account's timezone; `local_start_utc` turns a date into the
UTC instant at which it starts there. Periods are half-open: [start, end).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
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


def cycle_on(year: int, month: int, bill_cycle_day: int) -> date:
    """The bill-cycle date in `year`-`month`, clamped to the month's last day."""
    _require_bill_cycle_day(bill_cycle_day)
    last_day = calendar.monthrange(year, month)[1]
    return date(year, month, min(bill_cycle_day, last_day))


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
