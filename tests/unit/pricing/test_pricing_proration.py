"""prorate_change on whole subscription terms: what was billed in advance, credited back."""

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.invoice import AccountTerms, DraftLine, FlatCharge, SubscriptionTerms, build_invoice
from billing.money import to_minor
from billing.periods import BillingPeriod, Schedule
from billing.pricing import Charge, Phase, RecurringFee
from billing.proration import prorate_change

D = Decimal
JANUARY = BillingPeriod(date(2025, 1, 1), date(2025, 2, 1))
PRO = SubscriptionTerms(
    subscription_id="sub-1",
    plan_code="pro",
    plan_name="Pro",
    quantity=2,
    status="active",
    started_on=date(2024, 6, 15),
    trial_end_on=None,
    cancelled_on=None,
    flat_charges=(FlatCharge("Pro", D("30.00")),),
    usage_charges=(),
)
PRO_PLUS = replace(PRO, plan_code="plus", flat_charges=(FlatCharge("Pro Plus", D("50.00")),))


def summary(lines: list[DraftLine]) -> list[tuple[str, int, date, date]]:
    return [
        (line.description, line.amount_minor, line.period_start, line.period_end) for line in lines
    ]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (  # upgrade: 21 of 31 days
            PRO,
            PRO_PLUS,
            [
                ("Unused time on Pro (21 days)", -4065),
                ("Remaining time on Pro Plus (21 days)", 6774),
            ],
        ),
        (  # quantity change 2 -> 5 seats
            PRO,
            replace(PRO, quantity=5),
            [("Unused time on Pro (21 days)", -4065), ("Remaining time on Pro (21 days)", 10161)],
        ),
        (PRO, None, [("Unused time on Pro (21 days)", -4065)]),  # cancellation or pause
        (None, PRO, [("Remaining time on Pro (21 days)", 4065)]),  # resume or reactivation
        (  # the trial was not billed: only [Jan 20, Feb 1) is credited
            replace(PRO, status="trialing", trial_end_on=date(2025, 1, 20)),
            None,
            [("Unused time on Pro (12 days)", -2323)],
        ),
        (  # an intro phase at half price is credited at half price
            replace(PRO, started_on=date(2024, 12, 1), phases=(Phase("intro", 3, D("0.5")),)),
            None,
            [("Unused time on Pro (intro) (21 days)", -2032)],
        ),
    ],
)
def test_prorate_change(
    old: SubscriptionTerms | None, new: SubscriptionTerms | None, expected: list[tuple[str, int]]
) -> None:
    lines = prorate_change(old, new, JANUARY, date(2025, 1, 11), "USD")
    assert [(line.description, line.amount_minor) for line in lines] == expected
    assert {line.kind for line in lines} <= {"proration"}
    assert all(line.period_end == date(2025, 2, 1) for line in lines)


def test_an_annual_subscription_is_prorated_against_its_own_year() -> None:
    annual = replace(
        PRO,
        flat_charges=(),
        charges=(Charge("year", "Annual", RecurringFee(D("1200"))),),
        schedule=Schedule("year", "anniversary"),
    )
    lines = prorate_change(annual, None, JANUARY, date(2025, 1, 11), "USD", bill_cycle_day=1)
    assert summary(lines) == [  # 1200 x 155 / 365 days
        ("Unused time on Annual (155 days)", -50959, date(2025, 1, 11), date(2025, 6, 15))
    ]


def test_a_change_outside_the_period_is_refused() -> None:
    with pytest.raises(ValueError, match="outside the period"):
        prorate_change(PRO, None, JANUARY, date(2025, 2, 2), "USD")


@given(
    offset=st.integers(0, 30),
    unit=st.decimals(min_value=0, max_value=10**5, places=2, allow_nan=False),
    seats=st.integers(0, 40),
    currency=st.sampled_from(["JPY", "USD", "BHD"]),
)
def test_billed_minus_credit_is_the_used_part_within_a_minor_unit_per_part(
    offset: int, unit: Decimal, seats: int, currency: str
) -> None:
    account = AccountTerms("cus-1", currency, "UTC", 1)
    terms = replace(PRO, quantity=seats, flat_charges=(FlatCharge("Pro", unit),))
    billed = sum(
        line.amount_minor for line in build_invoice(account, [terms], [], JANUARY.start).lines
    )
    change_on = JANUARY.start + timedelta(days=offset)
    credit = sum(
        line.amount_minor for line in prorate_change(terms, None, JANUARY, change_on, currency)
    )
    used = D(seats) * unit * offset / 31
    assert abs(billed + credit - to_minor(used, currency)) <= 2
