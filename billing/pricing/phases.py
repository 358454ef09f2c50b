"""Multi-phase plans: trial (free or paid) -> intro price -> evergreen.

Phases run back to back from the subscription's start date; phase i lasts `duration_periods`
intervals of the subscription's schedule, counted from the start date (anniversary arithmetic,
month ends clamped), and a phase with `duration_periods` None lasts for ever (it must be last).
After the last finite phase, the subscription's own charges apply at full price. During a phase
its `charges` (when given) replace the subscription's charges, and every amount is multiplied by
its `price_factor` (0 for a free trial, whose recurring lines are then left out).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from billing.periods import BillingPeriod, Interval, add_intervals
from billing.pricing._checks import (
    collect,
    decimal_problem,
    int_problem,
    raise_if_invalid,
    text_problem,
)
from billing.pricing.charge import Charge


@dataclass(frozen=True)
class Phase:
    name: str
    duration_periods: int | None  # None: evergreen
    price_factor: Decimal = Decimal(1)
    charges: tuple[Charge, ...] | None = None  # None: the subscription's own charges

    def __post_init__(self) -> None:
        raise_if_invalid(f"phase {self.name!r}", self.validate())

    def validate(self) -> list[str]:
        duration = None
        if self.duration_periods is not None:
            duration = int_problem(self.duration_periods, "duration_periods", minimum=1)
        problems = collect(
            text_problem(self.name, "name"),
            duration,
            decimal_problem(self.price_factor, "price_factor"),
        )
        if self.charges is not None and not isinstance(self.charges, tuple):
            problems.append("charges must be a tuple of Charge (or None for the plan's own)")
        return problems


def phases_problems(phases: Sequence[Phase]) -> list[str]:
    """Only the last phase may be evergreen (duration_periods None)."""
    return [
        f"phase {phase.name!r} is evergreen (no duration_periods) but is not the last phase"
        for phase in phases[:-1]
        if phase.duration_periods is None
    ]


@dataclass(frozen=True)
class PhaseSpan:
    start: date
    end: date | None  # None: open-ended
    phase: Phase | None  # None: after the last finite phase, the subscription's own terms


def phase_spans(phases: Sequence[Phase], interval: Interval, started_on: date) -> list[PhaseSpan]:
    """The dated spans of `phases` from `started_on`, ending with an open span."""
    spans: list[PhaseSpan] = []
    elapsed = 0
    start = started_on
    for phase in phases:
        if phase.duration_periods is None:
            spans.append(PhaseSpan(start, None, phase))
            return spans
        elapsed += phase.duration_periods
        end = add_intervals(started_on, interval, elapsed)
        spans.append(PhaseSpan(start, end, phase))
        start = end
    spans.append(PhaseSpan(start, None, None))
    return spans


def phase_on(
    phases: Sequence[Phase], interval: Interval, started_on: date, day: date
) -> Phase | None:
    """The phase in effect on `day` (None: the subscription's own terms)."""
    for span in phase_spans(phases, interval, started_on):
        if span.end is None or day < span.end:
            return span.phase
    return None  # unreachable: the last span is open


def phase_segments(
    phases: Sequence[Phase], interval: Interval, started_on: date, window: BillingPeriod
) -> list[tuple[BillingPeriod, Phase | None]]:
    """`window` cut at phase changes, each piece with the phase in effect."""
    if not phases:
        return [(window, None)]
    pieces: list[tuple[BillingPeriod, Phase | None]] = []
    for span in phase_spans(phases, interval, started_on):
        start = max(window.start, span.start)
        end = window.end if span.end is None else min(window.end, span.end)
        if start < end:
            pieces.append((BillingPeriod(start, end), span.phase))
    return pieces
