"""Invariants of build_invoice over random mixed-model inputs (hypothesis)."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from billing.invoice import (
    AccountTerms,
    ExtraLine,
    InvoiceDraft,
    SubscriptionTerms,
    UsageTotal,
    build_invoice,
)
from billing.money import to_minor
from billing.periods import BillingPeriod, Schedule, cycle_on
from billing.pricing import (
    Charge,
    Commitment,
    Coupon,
    CouponDuration,
    CouponKind,
    CouponRedemption,
    Graduated,
    Package,
    PerUnit,
    Phase,
    RecurringFee,
    Tier,
    Volume,
)

D = Decimal
amounts = st.decimals(min_value=0, max_value=5_000, places=4, allow_nan=False)
CODES = ("fee", "seats", "late", "api", "gb", "sms")


@dataclass(frozen=True)
class Inputs:
    account: AccountTerms
    subscriptions: list[SubscriptionTerms]
    usage: list[UsageTotal]
    cycle: date
    extra: list[ExtraLine]
    coupons: list[CouponRedemption]
    balance_minor: int


def charges(draw: st.DrawFn) -> tuple[Charge, ...]:
    tiers = (Tier(D("10"), draw(amounts)), Tier(None, draw(amounts), draw(amounts)))
    tiered_volume: Graduated | Volume = Volume(tiers)
    every = (
        Charge("fee", "Fee", RecurringFee(draw(amounts))),
        Charge("seats", "Seats", RecurringFee(draw(amounts), per_seat=True)),
        Charge("late", "Late", RecurringFee(draw(amounts), timing="arrears")),
        Charge("api", "API", draw(st.sampled_from([Graduated(tiers), tiered_volume])), "m1"),
        Charge("gb", "GB", PerUnit(draw(amounts), draw(st.sampled_from([D(0), D(5)]))), "m2"),
        Charge("sms", "SMS", Package(draw(st.integers(1, 50)), draw(amounts)), "m3"),
    )
    chosen = draw(st.sets(st.integers(0, len(every) - 1)))
    return tuple(every[index] for index in sorted(chosen))


def coupon(draw: st.DrawFn, day: date) -> CouponRedemption:
    kind: CouponKind = draw(st.sampled_from(["percent", "amount"]))
    value = draw(st.decimals(min_value=D("0.01"), max_value=100, places=2, allow_nan=False))
    duration: CouponDuration = draw(st.sampled_from(["once", "repeating", "forever"]))
    periods = draw(st.integers(1, 3)) if duration == "repeating" else None
    applies_to = draw(st.none() | st.sampled_from(CODES))
    redeemed_on = day - timedelta(days=draw(st.integers(0, 100)))
    return CouponRedemption(Coupon("C", kind, value, duration, periods, applies_to), redeemed_on)


@st.composite
def invoice_inputs(draw: st.DrawFn) -> Inputs:
    currency = draw(st.sampled_from(["JPY", "USD", "BHD", "CLF"]))
    bcd = draw(st.integers(1, 31))
    day = cycle_on(draw(st.integers(2024, 2029)), draw(st.integers(1, 12)), bcd)
    account = AccountTerms("cus-p", currency, "America/New_York", bcd)
    near = st.integers(-400, 60).map(lambda n: day + timedelta(days=n))
    subscriptions: list[SubscriptionTerms] = []
    usage: list[UsageTotal] = []
    for index in range(draw(st.integers(0, 3))):
        started_on = draw(near)
        pause_start = draw(near)
        phases = draw(st.sampled_from([(), (Phase("trial", 1, D(0)), Phase("intro", 2, D("0.5")))]))
        terms = SubscriptionTerms(
            subscription_id=f"sub-{index}",
            plan_code="p",
            plan_name="P",
            quantity=draw(st.integers(0, 20)),
            status=draw(st.sampled_from(["active", "trialing", "paused", "cancelled"])),
            started_on=started_on,
            trial_end_on=draw(near),
            cancelled_on=draw(st.none() | near),
            flat_charges=(),
            usage_charges=(),
            charges=charges(draw),
            schedule=Schedule(
                draw(st.sampled_from(["week", "month", "quarter", "year"])),
                draw(st.sampled_from(["anniversary", "calendar"])),
            ),
            pauses=draw(
                st.sampled_from(
                    [(), (BillingPeriod(pause_start, pause_start + timedelta(days=9)),)]
                )
            ),
            coupons=tuple(coupon(draw, day) for _ in range(draw(st.integers(0, 2)))),
            phases=phases,
            commitment=draw(st.none() | amounts.map(Commitment)),
        )
        subscriptions.append(terms)
        for metric in sorted(terms.metric_codes()):
            for group in draw(st.sets(st.sampled_from([None, "eu", "us"]), max_size=2)):
                usage.append(UsageTotal(terms.subscription_id, metric, draw(amounts), group))
    extra = [
        ExtraLine("proration", "Change", f"sub-{n}", None, D(1), value, value, day, day)
        for n, value in enumerate(
            draw(st.lists(st.decimals(-500, 500, places=9, allow_nan=False), max_size=2))
        )
    ]
    account_coupons = [coupon(draw, day) for _ in range(draw(st.integers(0, 2)))]
    balance = draw(st.integers(0, 10**7))
    return Inputs(account, subscriptions, usage, day, extra, account_coupons, balance)


def build(inputs: Inputs, *, reverse: bool = False) -> InvoiceDraft:
    subscriptions = list(reversed(inputs.subscriptions)) if reverse else inputs.subscriptions
    usage = list(reversed(inputs.usage)) if reverse else inputs.usage
    return build_invoice(
        inputs.account,
        subscriptions,
        usage,
        inputs.cycle,
        extra_lines=inputs.extra,
        coupons=inputs.coupons,
        credit_balance_minor=inputs.balance_minor,
    )


@settings(max_examples=300, deadline=None)
@given(inputs=invoice_inputs())
def test_invoice_invariants(inputs: Inputs) -> None:
    draft = build(inputs)
    lines = draft.lines
    currency = inputs.account.currency
    # the total is the sum of the lines, each rounded once
    assert draft.total_minor == sum(line.amount_minor for line in lines)
    for line in lines:
        assert line.amount_minor == to_minor(line.amount, currency)
        assert line.amount.as_tuple().exponent == -9
    # discounts never take a charge's lines below zero
    by_charge: dict[tuple[str, str | None], int] = defaultdict(int)
    for line in lines:
        if line.kind in ("recurring", "usage", "discount") and line.charge_code is not None:
            by_charge[(line.subscription_id, line.charge_code)] += line.amount_minor
    assert all(net >= 0 for net in by_charge.values())
    assert all(line.amount_minor <= 0 for line in lines if line.kind in ("discount", "credit"))
    # nor the invoice: what the priced lines come to bounds what the discounts leave
    priced = sum(
        line.amount_minor for line in lines if line.kind not in ("discount", "credit", "commitment")
    )
    discounted = priced + sum(line.amount_minor for line in lines if line.kind == "discount")
    assert discounted >= min(0, priced)
    # credits never exceed the total, nor the wallet
    applied = draft.credits_applied_minor
    assert 0 <= applied <= max(0, draft.subtotal_minor)
    assert applied + draft.credit_balance_remaining_minor == inputs.balance_minor
    assert draft.total_minor == draft.subtotal_minor - applied
    if draft.subtotal_minor >= 0:
        assert draft.total_minor >= 0
    # a preview is the invoice: same inputs (in any order) give the same draft
    assert build(inputs, reverse=True) == draft
