"""Late-usage adjustments: the difference between a re-priced closed period and what was
billed for it, earlier adjustments included; nothing when nothing changed."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

from billing.late_usage import LATE_PREFIX, BilledLine, late_usage_lines
from billing.periods import BillingPeriod
from billing.pricing.terms import DraftLine

PERIOD = BillingPeriod(date(2026, 12, 1), date(2027, 1, 1))


def usage(sub: str, description: str, quantity: str, amount: str) -> DraftLine:
    return DraftLine(
        "usage", description, sub, "api_calls", D(quantity), D("0.0015"), D(amount), 0,
        PERIOD.start, PERIOD.end,
    )  # fmt: skip


def test_a_late_event_adds_the_difference_of_quantity_and_amount() -> None:
    repriced = [usage("s1", "API calls", "12000", "18.000000000")]
    billed = [BilledLine("s1", "API calls", "usage", D("10000"), D("15.000000000"))]
    [line] = late_usage_lines(repriced, billed, PERIOD)
    assert (line.kind, line.description) == ("adjustment", f"{LATE_PREFIX}API calls")
    assert (line.quantity, line.amount, line.metric_code) == (D(2000), D(3), "api_calls")
    assert (line.period_start, line.period_end) == (PERIOD.start, PERIOD.end)


def test_earlier_adjustments_count_as_billed() -> None:
    repriced = [usage("s1", "API calls", "12000", "18")]
    billed = [
        BilledLine("s1", "API calls", "usage", D("10000"), D("15")),
        BilledLine("s1", f"{LATE_PREFIX}API calls", "adjustment", D("2000"), D("3")),
    ]
    assert late_usage_lines(repriced, billed, PERIOD) == []


def test_tiers_can_make_the_difference_negative_and_a_vanished_line_is_credited() -> None:
    repriced = [usage("s1", "API calls", "12000", "14.4")]  # a cheaper tier reached
    billed = [
        BilledLine("s1", "API calls", "usage", D("10000"), D("15")),
        BilledLine("s2", "Storage", "usage", D("4"), D("1")),
    ]
    lines = late_usage_lines(repriced, billed, PERIOD)
    assert [(x.subscription_id, x.quantity, x.amount) for x in lines] == [
        ("s1", D(2000), D("-0.6")),
        ("s2", D(-4), D(-1)),
    ]
