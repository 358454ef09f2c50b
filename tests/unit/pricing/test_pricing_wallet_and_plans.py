"""Coupons' durations, prepaid credits, instalments, commitment, phases, proration on change."""

from datetime import date
from decimal import Decimal
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.money import to_minor
from billing.periods import BillingPeriod
from billing.pricing import (
    Coupon,
    CouponRedemption,
    Installments,
    OneTimeCharge,
    Phase,
    apply_credits,
    coupon_applies,
    installment_amount,
    invoices_reached,
    one_time_line,
    phase_on,
    phase_segments,
    true_up_minor,
)
from billing.proration import ProratedFee, prorate_fees, prorated_amount

D = Decimal
P = BillingPeriod


@pytest.mark.parametrize(
    ("redeemed_on", "cycle", "bcd", "expected"),
    [
        (date(2025, 1, 10), date(2025, 2, 1), 1, 1),
        (date(2025, 1, 1), date(2025, 1, 1), 1, 1),  # redeemed on a cycle date: that invoice
        (date(2025, 1, 1), date(2025, 3, 1), 1, 3),
        (date(2025, 1, 31), date(2025, 2, 28), 31, 2),
        (date(2025, 2, 28), date(2025, 3, 31), 31, 2),
        (date(2025, 3, 1), date(2025, 2, 1), 1, 0),  # redeemed after the invoice
        (date(2024, 12, 20), date(2025, 12, 15), 15, 12),
    ],
)
def test_invoices_reached(redeemed_on: date, cycle: date, bcd: int, expected: int) -> None:
    assert invoices_reached(redeemed_on, cycle, bcd) == expected


@pytest.mark.parametrize(
    ("coupon", "expected"),
    [
        (Coupon("ONCE", "percent", D("10")), [False, True, False, False, False]),
        (Coupon("THREE", "amount", D("5"), "repeating", 3), [False, True, True, True, False]),
        (Coupon("EVER", "percent", D("100"), "forever"), [False, True, True, True, True]),
    ],
)
def test_coupon_durations_count_invoices_from_the_redemption(
    coupon: Coupon, expected: list[bool]
) -> None:
    redemption = CouponRedemption(coupon, date(2025, 1, 10))
    cycles = [date(2025, month, 1) for month in range(1, 6)]
    assert [coupon_applies(redemption, cycle, 1) for cycle in cycles] == expected


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Coupon("X", "percent", D("120")), "percent value must be in (0, 100]"),
        (lambda: Coupon("X", "percent", D("0")), "percent value must be in (0, 100]"),
        (lambda: Coupon("X", "amount", D("-5")), "value must be >= 0"),
        (lambda: Coupon("X", "amount", D("5"), "repeating"), "periods must be an int"),
        (lambda: Coupon("X", "amount", D("5"), "once", 2), "periods is only for duration"),
        (lambda: Coupon("X", "gift", D("5")), "kind 'gift' is unknown"),  # type: ignore[arg-type]
        (lambda: Coupon("X", "amount", D("5"), "daily"), "duration 'daily' is unknown"),  # type: ignore[arg-type]
        (lambda: Installments(D("100"), 0), "count must be >= 1"),
        (lambda: Phase("trial", 0), "duration_periods must be >= 1"),
        (lambda: Phase("intro", 2, D("-0.5")), "price_factor must be >= 0"),
    ],
)
def test_invalid_coupons_instalments_and_phases(build: object, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace("]", r"\]")):
        build()  # type: ignore[operator]


@pytest.mark.parametrize(
    ("balance", "total", "expected"),
    [(500, 300, (300, 200)), (300, 500, (300, 0)), (500, -100, (0, 500)), (0, 100, (0, 0))],
)
def test_apply_credits(balance: int, total: int, expected: tuple[int, int]) -> None:
    assert apply_credits(balance, total) == expected


def test_a_negative_wallet_is_refused() -> None:
    with pytest.raises(ValueError, match="cannot be negative"):
        apply_credits(-1, 100)


@given(balance=st.integers(0, 10**9), total=st.integers(-(10**9), 10**9))
def test_credits_never_exceed_the_total_nor_the_balance(balance: int, total: int) -> None:
    applied, remaining = apply_credits(balance, total)
    assert 0 <= applied <= max(0, total)
    assert applied <= balance
    assert applied + remaining == balance


@pytest.mark.parametrize(
    ("total", "count", "currency", "expected"),
    [
        ("100.00", 3, "USD", ["33.33", "33.33", "33.34"]),
        ("1000", 3, "JPY", ["333", "333", "334"]),
        ("10.000", 3, "BHD", ["3.333", "3.333", "3.334"]),
        ("1", 3, "CLF", ["0.3333", "0.3333", "0.3334"]),
        ("0.05", 10, "USD", ["0.00"] * 9 + ["0.05"]),
        ("999.99", 1, "USD", ["999.99"]),
        ("1199", 24, "USD", ["49.95"] * 23 + ["50.15"]),
    ],
)
def test_instalments_sum_exactly_and_the_last_absorbs_rounding(
    total: str, count: int, currency: str, expected: list[str]
) -> None:
    plan = Installments(D(total), count)
    amounts = [installment_amount(plan, number, currency) for number in range(1, count + 1)]
    assert amounts == [D(text) for text in expected]
    assert sum(amounts) == D(total)


@given(
    total_minor=st.integers(0, 10**9),
    count=st.integers(1, 60),
    currency=st.sampled_from(["JPY", "USD", "BHD", "CLF"]),
)
def test_instalments_always_sum_to_the_total(total_minor: int, count: int, currency: str) -> None:
    total = D(total_minor).scaleb(-{"JPY": 0, "USD": 2, "BHD": 3, "CLF": 4}[currency])
    plan = Installments(total, count)
    minors = [
        to_minor(installment_amount(plan, n, currency), currency) for n in range(1, count + 1)
    ]
    assert sum(minors) == total_minor
    assert all(minor >= 0 for minor in minors)


@pytest.mark.parametrize(
    ("minimum", "charged", "expected"), [(50000, 12000, 38000), (50000, 50000, 0), (500, 900, 0)]
)
def test_commitment_true_up(minimum: int, charged: int, expected: int) -> None:
    assert true_up_minor(minimum, charged) == expected


PHASES = (
    Phase("trial", 1, D("0")),
    Phase("intro", 2, D("0.5")),
    Phase("evergreen", None),
)


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2028, 1, 31), "trial"),
        (date(2028, 2, 28), "trial"),
        (date(2028, 2, 29), "intro"),  # one month from Jan 31 in a leap year
        (date(2028, 3, 30), "intro"),
        (date(2028, 4, 29), "intro"),
        (date(2028, 4, 30), "evergreen"),  # three months from Jan 31
        (date(2040, 1, 1), "evergreen"),
    ],
)
def test_phase_on_a_date_from_the_start(day: date, expected: str) -> None:
    phase = phase_on(PHASES, "month", date(2028, 1, 31), day)
    assert phase is not None
    assert phase.name == expected


def test_phases_cut_a_period_at_their_changes() -> None:
    pieces = phase_segments(
        PHASES[:2], "month", date(2025, 1, 15), P(date(2025, 4, 1), date(2025, 5, 1))
    )
    assert [(piece, None if phase is None else phase.name) for piece, phase in pieces] == [
        (P(date(2025, 4, 1), date(2025, 4, 15)), "intro"),  # trial to Feb 15, intro to Apr 15
        (P(date(2025, 4, 15), date(2025, 5, 1)), None),  # after the last finite phase
    ]


PRO = ProratedFee("pro", "Pro", D("30.00"), D("2"))
PRO_PLUS = ProratedFee("pro_plus", "Pro Plus", D("50.00"), D("2"))
JANUARY = P(date(2025, 1, 1), date(2025, 2, 1))


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        # upgrade on Jan 11: 21 unused days of 31
        ((PRO,), (PRO_PLUS,), [D("-40.645161290"), D("67.741935484")]),
        # downgrade
        ((PRO_PLUS,), (PRO,), [D("-67.741935484"), D("40.645161290")]),
        # quantity change 2 -> 5 seats
        (
            (PRO,),
            (ProratedFee("pro", "Pro", D("30.00"), D("5")),),
            [D("-40.645161290"), D("101.612903226")],
        ),
        # cancellation: credit only
        ((PRO,), (), [D("-40.645161290")]),
    ],
)
def test_immediate_changes_credit_the_old_and_charge_the_new_terms(
    old: tuple[ProratedFee, ...], new: tuple[ProratedFee, ...], expected: list[Decimal]
) -> None:
    result = prorate_fees(
        subscription_id="sub-1",
        period=JANUARY,
        change_on=date(2025, 1, 11),
        old_fees=old,
        new_fees=new,
        policy="immediate",
    )
    assert result.effective_on == date(2025, 1, 11)
    assert [line.amount for line in result.lines] == expected
    assert {line.kind for line in result.lines} == {"proration"}
    assert all(
        (line.period_start, line.period_end) == (date(2025, 1, 11), date(2025, 2, 1))
        for line in result.lines
    )


def test_end_of_term_changes_prorate_nothing() -> None:
    result = prorate_fees(
        subscription_id="sub-1",
        period=JANUARY,
        change_on=date(2025, 1, 11),
        old_fees=(PRO,),
        new_fees=(PRO_PLUS,),
        policy="end_of_term",
    )
    assert (result.effective_on, result.lines) == (date(2025, 2, 1), ())


def test_a_change_outside_the_period_is_refused() -> None:
    with pytest.raises(ValueError, match="outside the billed period"):
        prorate_fees(
            subscription_id="sub-1",
            period=JANUARY,
            change_on=date(2025, 2, 2),
            old_fees=(PRO,),
            new_fees=(),
            policy="immediate",
        )


@st.composite
def cut_periods(draw: st.DrawFn) -> tuple[BillingPeriod, list[BillingPeriod]]:
    start = draw(st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31)))
    length = draw(st.sampled_from([7, 28, 29, 30, 31, 90, 91, 92, 365, 366]))
    end = date.fromordinal(start.toordinal() + length)
    cuts = draw(st.lists(st.integers(1, length - 1), max_size=5))
    days = [start.toordinal(), *sorted({start.toordinal() + cut for cut in cuts}), end.toordinal()]
    parts = [P(date.fromordinal(a), date.fromordinal(b)) for a, b in pairwise(days)]
    return P(start, end), parts


@given(
    split=cut_periods(),
    amount=st.decimals(min_value=0, max_value=10**7, places=4, allow_nan=False),
    currency=st.sampled_from(["JPY", "USD", "BHD", "CLF"]),
)
def test_prorated_parts_of_a_period_sum_to_the_whole_within_a_minor_unit_per_part(
    split: tuple[BillingPeriod, list[BillingPeriod]], amount: Decimal, currency: str
) -> None:
    period, parts = split
    minors = [to_minor(prorated_amount(amount, part, period), currency) for part in parts]
    assert abs(sum(minors) - to_minor(amount, currency)) <= len(parts)


@given(
    change_day=st.integers(0, 30),
    unit=st.decimals(min_value=0, max_value=10**5, places=2, allow_nan=False),
    seats=st.integers(0, 100),
)
def test_used_part_plus_credit_is_the_billed_fee(
    change_day: int, unit: Decimal, seats: int
) -> None:
    fee = ProratedFee("pro", "Pro", unit, D(seats))
    change_on = date.fromordinal(JANUARY.start.toordinal() + change_day)
    result = prorate_fees(
        subscription_id="s",
        period=JANUARY,
        change_on=change_on,
        old_fees=(fee,),
        new_fees=(),
        policy="immediate",
    )
    credit = -sum((line.amount for line in result.lines), D(0))
    used = (
        prorated_amount(fee.full_amount(), P(JANUARY.start, change_on), JANUARY)
        if change_day
        else D(0)
    )
    assert abs(used + credit - fee.full_amount()) <= D("0.000000002")
    assert (
        abs(to_minor(used, "USD") + to_minor(credit, "USD") - to_minor(fee.full_amount(), "USD"))
        <= 2
    )


def test_a_one_time_charge_becomes_an_extra_line() -> None:
    line = one_time_line(OneTimeCharge("Router", D("49.99"), D("2")), "sub-1", date(2025, 1, 9))
    assert (line.kind, line.amount, line.charge_code) == ("one_time", D("99.980000000"), "one_time")
    assert (line.period_start, line.period_end) == (date(2025, 1, 9), date(2025, 1, 9))
