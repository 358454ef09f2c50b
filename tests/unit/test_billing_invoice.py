"""build_invoice: recurring fees in advance, usage in arrears, rounded once per line."""

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.invoice import (
    AccountTerms,
    DraftLine,
    FlatCharge,
    SubscriptionStatus,
    SubscriptionTerms,
    UsageCharge,
    UsageTotal,
    build_invoice,
)
from billing.money import to_minor
from billing.periods import BillingPeriod, cycle_on

D = Decimal
USD_NY = AccountTerms("cus-1", "USD", "America/New_York", bill_cycle_day=31)
CYCLE = date(2028, 1, 31)  # service [2028-01-31, 2028-02-29): 29 days; usage [2027-12-31, CYCLE)


def subscription(
    subscription_id: str = "sub-a",
    *,
    status: SubscriptionStatus = "active",
    quantity: int = 3,
    unit_amount: str = "9.99",
    started_on: date = date(2020, 6, 1),
    trial_end_on: date | None = None,
    cancelled_on: date | None = None,
    metrics: tuple[tuple[str, str], ...] = (("storage_gb", "0.25"), ("api_calls", "0.0015")),
) -> SubscriptionTerms:
    return SubscriptionTerms(
        subscription_id=subscription_id,
        plan_code="pro",
        plan_name="Pro",
        quantity=quantity,
        status=status,
        started_on=started_on,
        trial_end_on=trial_end_on,
        cancelled_on=cancelled_on,
        flat_charges=(FlatCharge("Pro plan", D(unit_amount)),),
        usage_charges=tuple(UsageCharge(code, f"{code} usage", D(unit)) for code, unit in metrics),
    )


def recurring(lines: tuple[DraftLine, ...]) -> list[DraftLine]:
    return [line for line in lines if line.kind == "recurring"]


def test_periods_of_a_month_end_cycle_in_a_leap_year() -> None:
    draft = build_invoice(USD_NY, [], [], CYCLE)
    assert draft.service_period == BillingPeriod(date(2028, 1, 31), date(2028, 2, 29))
    assert draft.usage_period == BillingPeriod(date(2027, 12, 31), date(2028, 1, 31))
    assert (draft.lines, draft.subtotal_minor, draft.total_minor) == ((), 0, 0)


def test_a_full_invoice_with_exact_amounts() -> None:
    subscriptions = [
        subscription("sub-b", status="trialing", trial_end_on=date(2028, 2, 10)),
        subscription("sub-a"),
    ]
    usage = [
        UsageTotal("sub-a", "storage_gb", D("10.02")),
        UsageTotal("sub-a", "api_calls", D("1234.5")),
        UsageTotal("sub-b", "api_calls", D("0")),
    ]
    draft = build_invoice(USD_NY, subscriptions, usage, CYCLE)
    summary = [
        (line.subscription_id, line.kind, line.metric_code, line.amount, line.amount_minor)
        for line in draft.lines
    ]
    assert summary == [
        ("sub-a", "recurring", None, D("29.970000000"), 2997),
        ("sub-a", "usage", "api_calls", D("1.851750000"), 185),
        ("sub-a", "usage", "storage_gb", D("2.505000000"), 251),
        ("sub-b", "recurring", None, D("19.635517241"), 1964),  # 29.97 x 19/29 days
    ]
    assert draft.subtotal_minor == draft.total_minor == 2997 + 185 + 251 + 1964
    trial_line = draft.lines[3]
    assert (trial_line.period_start, trial_line.period_end) == (
        date(2028, 2, 10),
        date(2028, 2, 29),
    )
    assert (trial_line.quantity, trial_line.unit_amount) == (D(3), D("9.99"))
    usage_line = draft.lines[1]
    assert (usage_line.period_start, usage_line.period_end) == (date(2027, 12, 31), CYCLE)
    assert usage_line.quantity == D("1234.5")


@pytest.mark.parametrize(
    ("changes", "expected_minor"),
    [
        ({}, [2997]),
        ({"status": "trialing", "trial_end_on": date(2028, 2, 29)}, []),  # trial covers it all
        ({"status": "trialing", "trial_end_on": date(2028, 3, 15)}, []),
        ({"status": "trialing", "trial_end_on": date(2028, 1, 31)}, [2997]),  # ends at start
        ({"status": "trialing", "trial_end_on": date(2028, 2, 28)}, [103]),  # 1 of 29 days
        ({"status": "paused"}, []),
        ({"status": "suspended"}, []),
        ({"status": "cancelled", "cancelled_on": date(2028, 1, 20)}, []),
        ({"cancelled_on": date(2028, 1, 31)}, []),  # cancelled on period start
        ({"started_on": date(2028, 2, 29)}, []),  # starts on period end
        # starts after this cycle date: its first (prorated) period is billed on the first
        # invoice on or after the start date (see test_a_period_started_after_its_cycle_...)
        ({"started_on": date(2028, 2, 14)}, []),
        ({"cancelled_on": date(2028, 2, 14)}, [1447]),  # scheduled end: 14 of 29 days
        ({"quantity": 1, "flat_charges": (FlatCharge("Half a cent", D("0.005")),)}, [1]),
    ],
)
def test_recurring_fee_eligibility_and_proration(
    changes: dict[str, object], expected_minor: list[int]
) -> None:
    draft = build_invoice(USD_NY, [replace(subscription(), **changes)], [], CYCLE)  # type: ignore[arg-type]
    assert [line.amount_minor for line in recurring(draft.lines)] == expected_minor


def test_a_period_started_after_its_cycle_date_is_billed_on_the_next_invoice() -> None:
    terms = replace(subscription(), started_on=date(2028, 2, 14))
    draft = build_invoice(USD_NY, [terms], [], date(2028, 2, 29))
    assert [
        (line.period_start, line.period_end, line.amount, line.amount_minor)
        for line in recurring(draft.lines)
    ] == [
        (date(2028, 2, 14), date(2028, 2, 29), D("15.501724138"), 1550),  # 29.97 x 15/29 days
        (date(2028, 2, 29), date(2028, 3, 31), D("29.970000000"), 2997),
    ]


@pytest.mark.parametrize("status", ["trialing", "active", "paused", "suspended", "cancelled"])
def test_usage_is_owed_whatever_the_status(status: SubscriptionStatus) -> None:
    terms = subscription(status=status, trial_end_on=date(2028, 3, 31))
    usage = [UsageTotal("sub-a", "api_calls", D("1000"))]
    draft = build_invoice(USD_NY, [terms], usage, CYCLE)
    usage_lines = [line for line in draft.lines if line.kind == "usage"]
    assert [(line.metric_code, line.amount_minor) for line in usage_lines] == [("api_calls", 150)]


@pytest.mark.parametrize(
    ("currency", "bill_cycle_day", "day", "unit_amount", "trial_end_on", "expected_minor"),
    [
        ("JPY", 1, date(2025, 4, 1), "1000", date(2025, 4, 11), 667),  # 1000 x 20/30
        ("JPY", 31, date(2025, 2, 28), "1000", None, 1000),
        ("BHD", 30, date(2028, 2, 29), "12.345", date(2028, 3, 10), 8230),  # x 20/30 days
        ("CLF", 15, date(2025, 6, 15), "0.33335", None, 3334),
        ("USD", 29, date(2027, 2, 28), "10", date(2027, 3, 15), 483),  # 10 x 14/29 days
    ],
)
def test_zero_three_and_four_decimal_currencies(
    currency: str,
    bill_cycle_day: int,
    day: date,
    unit_amount: str,
    trial_end_on: date | None,
    expected_minor: int,
) -> None:
    account = AccountTerms("cus-1", currency, "Europe/Paris", bill_cycle_day)
    status: SubscriptionStatus = "active" if trial_end_on is None else "trialing"
    terms = subscription(
        status=status, quantity=1, unit_amount=unit_amount, trial_end_on=trial_end_on
    )
    draft = build_invoice(account, [terms], [], day)
    assert [line.amount_minor for line in draft.lines] == [expected_minor]
    assert draft.total_minor == expected_minor


def test_three_decimal_usage_rounds_half_up() -> None:
    account = AccountTerms("cus-1", "BHD", "Asia/Bahrain", 1)
    terms = subscription(status="paused", metrics=(("sms", "0.0125"),))
    draft = build_invoice(account, [terms], [UsageTotal("sub-a", "sms", D("3"))], date(2025, 3, 1))
    assert [(line.amount, line.amount_minor) for line in draft.lines] == [(D("0.0375"), 38)]


@pytest.mark.parametrize(
    ("usage", "message"),
    [
        ([UsageTotal("sub-x", "api_calls", D("1"))], "unknown subscription 'sub-x'"),
        ([UsageTotal("sub-a", "seats", D("1"))], "metric 'seats'"),
        ([UsageTotal("sub-a", "api_calls", D("1"))] * 2, "given twice"),
    ],
)
def test_usage_that_matches_no_charge_is_refused(usage: list[UsageTotal], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build_invoice(USD_NY, [subscription()], usage, CYCLE)


@pytest.mark.parametrize("day", [date(2028, 1, 30), date(2028, 2, 28), date(2028, 2, 1)])
def test_a_day_that_is_not_a_cycle_date_is_refused(day: date) -> None:
    with pytest.raises(ValueError, match="not a bill-cycle date for bill_cycle_day 31"):
        build_invoice(USD_NY, [subscription()], [], day)


def test_february_29_is_the_cycle_date_for_bill_cycle_day_31_in_a_leap_year() -> None:
    draft = build_invoice(USD_NY, [subscription()], [], date(2028, 2, 29))
    assert draft.service_period == BillingPeriod(date(2028, 2, 29), date(2028, 3, 31))


def test_duplicate_subscriptions_are_refused() -> None:
    with pytest.raises(ValueError, match="passed twice"):
        build_invoice(USD_NY, [subscription(), subscription()], [], CYCLE)


def test_floats_are_refused_in_terms() -> None:
    with pytest.raises(TypeError):
        FlatCharge("Pro plan", 9.99)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        UsageTotal("sub-a", "api_calls", 1.5)  # type: ignore[arg-type]


def test_unknown_currency_or_timezone_in_account_terms_is_refused() -> None:
    with pytest.raises(ValueError, match="ISO 4217"):
        AccountTerms("cus-1", "usd", "UTC", 1)
    with pytest.raises(ValueError, match="unknown timezone"):
        AccountTerms("cus-1", "USD", "Europe/Atlantis", 1)


@st.composite
def invoice_inputs(
    draw: st.DrawFn,
) -> tuple[AccountTerms, list[SubscriptionTerms], list[UsageTotal], date]:
    currency = draw(st.sampled_from(["JPY", "USD", "BHD", "CLF"]))
    bill_cycle_day = draw(st.integers(min_value=1, max_value=31))
    day = cycle_on(draw(st.integers(2024, 2030)), draw(st.integers(1, 12)), bill_cycle_day)
    account = AccountTerms("cus-p", currency, "UTC", bill_cycle_day)
    amounts = st.decimals(min_value=0, max_value=10_000, places=5, allow_nan=False)
    subscriptions: list[SubscriptionTerms] = []
    usage: list[UsageTotal] = []
    for index in range(draw(st.integers(0, 4))):
        offset = st.integers(min_value=-40, max_value=40).map(
            lambda n: day.fromordinal(day.toordinal() + n)
        )
        terms = SubscriptionTerms(
            subscription_id=f"sub-{index}",
            plan_code="p",
            plan_name="P",
            quantity=draw(st.integers(0, 50)),
            status=draw(st.sampled_from(["trialing", "active", "paused", "cancelled"])),
            started_on=draw(offset),
            trial_end_on=draw(offset),
            cancelled_on=draw(st.none() | offset),
            flat_charges=(FlatCharge("base", draw(amounts)), FlatCharge("seat", draw(amounts))),
            usage_charges=(
                UsageCharge("m1", "m1", draw(amounts)),
                UsageCharge("m2", "m2", draw(amounts)),
            ),
        )
        subscriptions.append(terms)
        for metric_code in draw(st.sets(st.sampled_from(["m1", "m2"]))):
            usage.append(UsageTotal(terms.subscription_id, metric_code, draw(amounts)))
    return account, subscriptions, usage, day


@given(inputs=invoice_inputs())
def test_total_is_the_sum_of_lines_rounded_once(
    inputs: tuple[AccountTerms, list[SubscriptionTerms], list[UsageTotal], date],
) -> None:
    account, subscriptions, usage, day = inputs
    draft = build_invoice(account, subscriptions, usage, day)
    assert (
        draft.total_minor == draft.subtotal_minor == sum(line.amount_minor for line in draft.lines)
    )
    for line in draft.lines:
        assert line.amount_minor == to_minor(line.amount, account.currency)
        assert line.amount.as_tuple().exponent == -9
        assert line.quantity != 0 or line.kind == "recurring"
    reordered = list(reversed(subscriptions))
    assert build_invoice(account, reordered, list(reversed(usage)), day) == draft
