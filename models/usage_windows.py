"""Which event timestamps an account still accepts, and which are in an invoiced usage period.

A usage period is the account's bill cycle [cycle date, next cycle date), read in the account's
timezone. An event is accepted while its period has not ended more than `late_window` ago, and
when it is at most `future_tolerance` ahead of now. Because periods are contiguous, the accepted
range of an account is one interval: [start of its oldest open period, now + tolerance].
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from billing.periods import (
    BillingPeriod,
    cycle_on,
    local_start_utc,
    next_cycle_on,
    previous_cycle_on,
    zone,
)
from models.usage_values import utc_text


@dataclass(frozen=True, slots=True)
class AcceptWindow:
    accept_from: datetime  # UTC start of the oldest usage period still open for events
    accept_until: datetime  # UTC: now + future tolerance (inclusive)
    oldest_open: BillingPeriod  # that period, in local dates
    late_window: timedelta
    from_text: str  # accept_from and accept_until as canonical UTC text (`utc_text`)
    until_text: str

    def problem(self, occurred_at: datetime) -> str | None:
        """Why `occurred_at` is refused, or None when it is accepted."""
        if occurred_at < self.accept_from:
            return (
                f"timestamp {_iso(occurred_at)} is outside the accepted window: its usage period "
                f"ended more than {_span(self.late_window)} ago; the oldest open period starts "
                f"{self.oldest_open.start.isoformat()} ({_iso(self.accept_from)})"
            )
        if occurred_at > self.accept_until:
            return (
                f"timestamp {_iso(occurred_at)} is in the future: at most {_iso(self.accept_until)}"
                " is accepted now (check the sender's clock and time zone)"
            )
        return None


def usage_period_of(day: date, bill_cycle_day: int) -> BillingPeriod:
    """The bill-cycle period [cycle, next cycle) that contains the local date `day`."""
    start = cycle_on(day.year, day.month, bill_cycle_day)
    if start > day:
        start = previous_cycle_on(start, bill_cycle_day)
    return BillingPeriod(start, next_cycle_on(start, bill_cycle_day))


def accept_window(
    timezone: str,
    bill_cycle_day: int,
    now: datetime,
    late_window: timedelta,
    future_tolerance: timedelta,
) -> AcceptWindow:
    period = usage_period_of(now.astimezone(zone(timezone)).date(), bill_cycle_day)
    while True:
        previous = BillingPeriod(previous_cycle_on(period.start, bill_cycle_day), period.start)
        if local_start_utc(previous.end, timezone) + late_window <= now:
            break
        period = previous
    accept_from = local_start_utc(period.start, timezone)
    accept_until = now + future_tolerance
    return AcceptWindow(
        accept_from=accept_from,
        accept_until=accept_until,
        oldest_open=period,
        late_window=late_window,
        from_text=utc_text(accept_from),
        until_text=utc_text(accept_until.astimezone(UTC)),
    )


def invoiced_ranges(
    periods: Iterable[tuple[date, date]], timezone: str
) -> tuple[tuple[str, str], ...]:
    """Invoiced usage periods [start, end) (local dates) as sorted UTC instants (text)."""
    return tuple(
        sorted(
            (utc_text(local_start_utc(start, timezone)), utc_text(local_start_utc(end, timezone)))
            for start, end in periods
        )
    )


def is_invoiced(occurred_at: str, ranges: tuple[tuple[str, str], ...]) -> bool:
    """Whether a canonical UTC text instant falls in one of the invoiced ranges."""
    return any(start <= occurred_at < end for start, end in ranges)


def _iso(instant: datetime) -> str:
    return instant.isoformat().replace("+00:00", "Z")


def _span(delta: timedelta) -> str:
    if delta.seconds == 0 and delta.microseconds == 0:
        return f"{delta.days} day{'s' if delta.days != 1 else ''}"
    return f"{delta.total_seconds():g} s"
