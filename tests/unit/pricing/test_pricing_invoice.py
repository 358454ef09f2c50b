"""build_invoice with every charge model, schedules, phases, coupons, commitment and credits."""

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from billing.invoice import (
    AccountTerms,
    DraftLine,
    ExtraLine,
    InvoiceDraft,
    SubscriptionTerms,
    UsageTotal,
    build_invoice,
)
from billing.periods import BillingPeriod, Schedule
from billing.pricing import (
    Charge,
    Commitment,
    Coupon,
    CouponRedemption,
    Graduated,
    InstallmentPlan,
    Installments,
    Package,
    Percentage,
    PerUnit,
    Phase,
    RecurringFee,
    Tier,
    Volume,
)
from billing.proration import ProratedFee, prorate_fees

D = Decimal
P = BillingPeriod
USD = AccountTerms("cus-1", "USD", "Europe/Paris", 1)
MARCH = date(2025, 3, 1)  # service [Mar 1, Apr 1): 31 days; usage [Feb 1, Mar 1): 28 days
BASE = Charge("base", "Base", RecurringFee(D("100")))
API = Charge("api", "API calls", PerUnit(D("0.10")), "api_calls")


def terms(*charges: Charge, **changes: object) -> SubscriptionTerms:
    base = SubscriptionTerms(
        subscription_id="sub-1",
        plan_code="p",
        plan_name="P",
        quantity=1,
        status="active",
        started_on=date(2024, 1, 1),
        trial_end_on=None,
        cancelled_on=None,
        flat_charges=(),
        usage_charges=(),
        charges=charges,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def summary(draft: InvoiceDraft) -> list[tuple[str, str, int]]:
    return [(line.kind, line.description, line.amount_minor) for line in draft.lines]


def periods(lines: tuple[DraftLine, ...]) -> list[tuple[date, date, int]]:
    return [(line.period_start, line.period_end, line.amount_minor) for line in lines]


def test_every_usage_model_on_one_invoice() -> None:
    tiers = (Tier(D("100"), D("0.10")), Tier(D("1000"), D("0.05")), Tier(None, D("0.01")))
    subscription = terms(
        Charge("seats", "Seats", RecurringFee(D("12.50"), per_seat=True)),
        Charge("grad", "Graduated", Graduated(tiers, free_units=D("50")), "events"),
        Charge("vol", "Volume", Volume(tiers), "storage_gb"),
        Charge("pkg", "SMS", Package(100, D("1.50")), "sms"),
        Charge("fees", "Payment fees", Percentage(D("0.029"), D("0.30")), "payments"),
        Charge("cap", "Capped fees", Percentage(D("0.01"), max_amount=D("5")), "transfers"),
        quantity=4,
    )
    usage = [
        UsageTotal("sub-1", "events", D("1050")),  # 1000 billable: 10 + 45
        UsageTotal("sub-1", "storage_gb", D("1000")),  # all at 0.05
        UsageTotal("sub-1", "sms", D("201")),  # 3 packages
        UsageTotal("sub-1", "payments", D("110"), count=2),  # 3.19 + 0.60
        UsageTotal("sub-1", "transfers", D("1100"), transactions=(D("100"), D("1000"))),
    ]
    draft = build_invoice(USD, [subscription], usage, MARCH)
    assert summary(draft) == [
        ("recurring", "Seats", 5000),
        ("usage", "Graduated", 5500),
        ("usage", "Payment fees", 379),
        ("usage", "SMS", 450),
        ("usage", "Volume", 5000),
        ("usage", "Capped fees", 600),
    ]
    assert draft.total_minor == 5000 + 5500 + 379 + 450 + 5000 + 600


def test_grouped_usage_makes_one_line_per_group_value() -> None:
    usage = [
        UsageTotal("sub-1", "api_calls", D("300"), "us-east"),
        UsageTotal("sub-1", "api_calls", D("100"), None),
        UsageTotal("sub-1", "api_calls", D("200"), "eu-west"),
    ]
    draft = build_invoice(USD, [terms(API)], usage, MARCH)
    assert summary(draft) == [
        ("usage", "API calls", 1000),
        ("usage", "API calls — eu-west", 2000),
        ("usage", "API calls — us-east", 3000),
    ]


def test_the_same_group_twice_is_refused() -> None:
    usage = [UsageTotal("sub-1", "api_calls", D("1"), "eu")] * 2
    with pytest.raises(ValueError, match="group 'eu' is given twice"):
        build_invoice(USD, [terms(API)], usage, MARCH)


def test_percentage_without_transactions_needs_them() -> None:
    charge = Charge("fees", "Fees", Percentage(D("0.01"), min_amount=D("1")), "payments")
    with pytest.raises(ValueError, match="needs each transaction's amount"):
        build_invoice(USD, [terms(charge)], [UsageTotal("sub-1", "payments", D("5"))], MARCH)


@pytest.mark.parametrize(
    ("schedule", "fee", "cycle", "expected"),
    [
        # weeks starting on Mondays in March 2025, in advance: Mar 3, 10, 17, 24, 31
        (
            Schedule("week"),
            "10",
            MARCH,
            [(date(2025, 3, d), date(2025, 3, d + 7), 1000) for d in (3, 10, 17, 24)]
            + [(date(2025, 3, 31), date(2025, 4, 7), 1000)],
        ),
        # a calendar quarter starts in April only
        (Schedule("quarter"), "300", MARCH, []),
        (
            Schedule("quarter"),
            "300",
            date(2025, 4, 1),
            [(date(2025, 4, 1), date(2025, 7, 1), 30000)],
        ),
        # an annual anniversary period from Feb 29 2024 starts on Feb 28 2025
        (
            Schedule("year", "anniversary"),
            "1200",
            date(2025, 2, 1),
            [(date(2025, 2, 28), date(2026, 2, 28), 120000)],
        ),
        (Schedule("year", "anniversary"), "1200", MARCH, []),
    ],
)
def test_weekly_quarterly_and_annual_periods_in_advance(
    schedule: Schedule, fee: str, cycle: date, expected: list[tuple[date, date, int]]
) -> None:
    subscription = terms(
        Charge("fee", "Fee", RecurringFee(D(fee))), schedule=schedule, started_on=date(2024, 2, 29)
    )
    assert periods(build_invoice(USD, [subscription], [], cycle).lines) == expected


def test_calendar_alignment_prorates_the_first_period_anniversary_does_not() -> None:
    charge = Charge("fee", "Fee", RecurringFee(D("300")))
    started = {"started_on": date(2025, 2, 10)}
    calendar = terms(charge, schedule=Schedule("quarter"), **started)
    draft = build_invoice(USD, [calendar], [], MARCH)  # first invoice on or after Feb 10
    assert periods(draft.lines) == [(date(2025, 2, 10), date(2025, 4, 1), 16667)]  # 300 x 50/90
    assert periods(build_invoice(USD, [calendar], [], date(2025, 4, 1)).lines) == [
        (date(2025, 4, 1), date(2025, 7, 1), 30000)
    ]
    anniversary = terms(charge, schedule=Schedule("quarter", "anniversary"), **started)
    assert periods(build_invoice(USD, [anniversary], [], MARCH).lines) == [
        (date(2025, 2, 10), date(2025, 5, 10), 30000)
    ]
    assert build_invoice(USD, [anniversary], [], date(2025, 4, 1)).lines == ()
    assert periods(build_invoice(USD, [anniversary], [], date(2025, 5, 1)).lines) == [
        (date(2025, 5, 10), date(2025, 8, 10), 30000)
    ]


def test_month_end_anniversary_in_a_leap_year() -> None:
    account = AccountTerms("cus-1", "USD", "UTC", 31)
    charge = Charge("fee", "Fee", RecurringFee(D("31")))
    subscription = terms(
        charge, schedule=Schedule("month", "anniversary"), started_on=date(2027, 12, 31)
    )
    lines = build_invoice(account, [subscription], [], date(2028, 1, 31)).lines
    assert periods(lines) == [(date(2028, 1, 31), date(2028, 2, 29), 3100)]
    lines = build_invoice(account, [subscription], [], date(2028, 2, 29)).lines
    assert periods(lines) == [(date(2028, 2, 29), date(2028, 3, 31), 3100)]


def test_fees_in_arrears_follow_the_period_end() -> None:
    charge = Charge("support", "Support", RecurringFee(D("28"), timing="arrears"))
    draft = build_invoice(USD, [terms(charge, cancelled_on=date(2025, 2, 15))], [], MARCH)
    assert periods(draft.lines) == [(date(2025, 2, 1), date(2025, 2, 15), 1400)]  # 14 of 28 days


def test_paused_days_are_not_billed() -> None:
    charge = Charge("fee", "Fee", RecurringFee(D("31")))
    pause = P(date(2025, 3, 10), date(2025, 3, 20))
    draft = build_invoice(USD, [terms(charge, pauses=(pause,))], [], MARCH)
    assert periods(draft.lines) == [
        (date(2025, 3, 1), date(2025, 3, 10), 900),
        (date(2025, 3, 20), date(2025, 4, 1), 1200),
    ]


def test_phases_trial_intro_evergreen_with_a_change_mid_period() -> None:
    phases = (Phase("trial", 1, D("0")), Phase("intro", 2, D("0.5")), Phase("evergreen", None))
    subscription = terms(BASE, API, phases=phases, started_on=date(2025, 1, 15))
    feb = build_invoice(
        USD, [subscription], [UsageTotal("sub-1", "api_calls", D("10"))], date(2025, 2, 1)
    )
    # [Jan 15, Feb 15) is the free trial; [Feb 15, Mar 1) is intro at half price; usage of
    # January is priced by the phase of Jan 31 (trial: free)
    assert [(line.description, line.period_start, line.amount_minor) for line in feb.lines] == [
        ("Base (intro)", date(2025, 2, 15), 2500),  # 50 x 14/28
    ]
    april = build_invoice(
        USD, [subscription], [UsageTotal("sub-1", "api_calls", D("10"))], date(2025, 4, 1)
    )
    assert summary(april) == [
        ("recurring", "Base (intro)", 2333),  # 50 x 14/30
        ("recurring", "Base (evergreen)", 5333),  # 100 x 16/30
        ("usage", "API calls", 50),  # March: intro, half price
    ]


def test_instalments_are_billed_on_the_invoices_of_their_due_dates() -> None:
    plan = InstallmentPlan("Phone", Installments(D("100"), 3), date(2025, 1, 15))
    subscription = terms(installment_plans=(plan,))
    billed = [
        summary(build_invoice(USD, [subscription], [], date(2025, month, 1)))
        for month in (1, 2, 3, 4)
    ]
    assert billed == [
        [("installment", "Phone (instalment 1 of 3)", 3333)],
        [("installment", "Phone (instalment 2 of 3)", 3333)],
        [("installment", "Phone (instalment 3 of 3)", 3334)],
        [],
    ]


def test_order_of_application_coupons_commitment_credits() -> None:
    subscription = terms(
        BASE,
        API,
        coupons=(
            CouponRedemption(
                Coupon("API10", "percent", D("10"), "forever", applies_to="api"), MARCH
            ),
            CouponRedemption(Coupon("FIFTY", "amount", D("50")), date(2025, 2, 10)),
        ),
        commitment=Commitment(D("500")),
    )
    account_coupon = CouponRedemption(Coupon("HALF", "percent", D("50"), "forever"), MARCH)
    draft = build_invoice(
        USD,
        [subscription],
        [UsageTotal("sub-1", "api_calls", D("1000"))],
        MARCH,
        coupons=[account_coupon],
        credit_balance_minor=100000,
    )
    assert summary(draft) == [
        ("recurring", "Base", 10000),
        ("usage", "API calls", 10000),
        ("discount", "Coupon API10 on API calls", -1000),  # charge coupon
        ("discount", "Coupon FIFTY on subscription sub-1", -5000),  # subscription coupon
        ("commitment", "Minimum commitment true-up", 36000),  # 500 - 140
        ("discount", "Coupon HALF on the invoice", -7000),  # half of 140
        ("credit", "Prepaid credits", -43000),
    ]
    assert (draft.subtotal_minor, draft.total_minor) == (43000, 0)
    assert (draft.discount_minor, draft.credits_applied_minor) == (13000, 43000)
    assert draft.credit_balance_remaining_minor == 57000


def test_discounts_never_take_a_line_or_the_invoice_below_zero() -> None:
    subscription = terms(
        BASE,
        API,
        coupons=(CouponRedemption(Coupon("BIG", "amount", D("500"), applies_to="api"), MARCH),),
    )
    huge = CouponRedemption(Coupon("HUGE", "amount", D("1000")), MARCH)
    draft = build_invoice(
        USD, [subscription], [UsageTotal("sub-1", "api_calls", D("999"))], MARCH, coupons=[huge]
    )
    assert summary(draft) == [
        ("recurring", "Base", 10000),
        ("usage", "API calls", 9990),
        ("discount", "Coupon BIG on API calls", -9990),
        ("discount", "Coupon HUGE on the invoice", -10000),
    ]
    assert draft.total_minor == 0


@pytest.mark.parametrize(
    ("currency", "fee", "expected"),
    [
        ("JPY", "999", [999, -333]),  # 999 x 33.333 % = 332.99667 -> 333
        ("BHD", "10.005", [10005, -3335]),  # 3.334966... -> 3.335
        ("CLF", "1.00005", [10001, -3333]),  # line 1.0001 (half up); 0.333341667 -> 0.3333
    ],
)
def test_percent_coupons_round_once_in_zero_three_and_four_decimal_currencies(
    currency: str, fee: str, expected: list[int]
) -> None:
    account = AccountTerms("cus-1", currency, "Asia/Tokyo", 1)
    coupon = Coupon("THIRD", "percent", D("33.333"), "forever", applies_to="fee")
    subscription = terms(
        Charge("fee", "Fee", RecurringFee(D(fee))), coupons=(CouponRedemption(coupon, MARCH),)
    )
    draft = build_invoice(account, [subscription], [], MARCH)
    assert [line.amount_minor for line in draft.lines] == expected


def test_extra_lines_from_a_change_and_a_one_time_charge() -> None:
    change = prorate_fees(
        subscription_id="sub-1",
        period=P(date(2025, 2, 1), MARCH),
        change_on=date(2025, 2, 15),
        old_fees=(ProratedFee("base", "Base", D("100")),),
        new_fees=(ProratedFee("base", "Base Plus", D("200")),),
        policy="immediate",
    )
    setup = ExtraLine(
        "one_time", "Setup", "sub-1", None, D(1), D("49.99"), D("49.99"), MARCH, MARCH
    )
    draft = build_invoice(USD, [terms(BASE)], [], MARCH, extra_lines=[*change.lines, setup])
    assert summary(draft) == [
        ("recurring", "Base", 10000),
        ("one_time", "Setup", 4999),
        ("proration", "Unused time on Base (14 of 28 days)", -5000),
        ("proration", "Remaining time on Base Plus (14 of 28 days)", 10000),
    ]
    assert draft.total_minor == 10000 + 4999 - 5000 + 10000


def test_credits_do_not_apply_to_a_negative_total() -> None:
    refund = ExtraLine(
        "adjustment", "Refund", "sub-1", None, D(1), D("-80"), D("-80"), MARCH, MARCH
    )
    draft = build_invoice(USD, [terms()], [], MARCH, extra_lines=[refund], credit_balance_minor=500)
    assert (draft.total_minor, draft.credits_applied_minor) == (-8000, 0)
    assert draft.credit_balance_remaining_minor == 500


def test_an_invalid_extra_line_is_refused() -> None:
    with pytest.raises(ValueError, match="kind 'credit' cannot be passed in"):
        ExtraLine("credit", "Gift", "sub-1", None, D(1), D("1"), D("1"), MARCH, MARCH)


def test_only_the_last_phase_may_be_evergreen() -> None:
    with pytest.raises(ValueError, match="'trial' is evergreen"):
        terms(phases=(Phase("trial", None), Phase("paid", 1)))


def test_a_subscription_coupon_does_not_take_the_invoice_below_zero() -> None:
    coupon = CouponRedemption(Coupon("TEN", "percent", D("10")), MARCH)
    discounted = terms(BASE, coupons=(coupon,))
    other = replace(terms(), subscription_id="sub-2")
    refund = ExtraLine(
        "proration", "Refund", "sub-2", None, D(1), D("-100"), D("-100"), MARCH, MARCH
    )
    draft = build_invoice(USD, [discounted, other], [], MARCH, extra_lines=[refund])
    assert summary(draft) == [("recurring", "Base", 10000), ("proration", "Refund", -10000)]
    assert draft.total_minor == 0
