"""Invoice assembly after pricing: coupons, commitment true-ups, prepaid credits, totals.

The order of application is documented in `billing.invoice`; each step appends its own lines
(kind "discount", "commitment", "credit") and never rewrites a priced line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from billing.money import amount_of_minor, minor_of
from billing.periods import BillingPeriod
from billing.pricing.commitment import true_up_minor
from billing.pricing.coupons import CouponRedemption, coupon_applies
from billing.pricing.credits import apply_credits
from billing.pricing.discounts import cap_discount
from billing.pricing.recurring_lines import LinePricer
from billing.pricing.terms import DraftLine, InvoiceDraft, SubscriptionTerms

_ONE = Decimal(1)
_RANK = {"recurring": 0, "installment": 1, "usage": 2, "one_time": 3, "adjustment": 4}
ACCOUNT = ""  # subscription_id of account-level lines


@dataclass
class _Group:
    """The lines of one subscription (or of the account) while the invoice is assembled."""

    priced: list[DraftLine]
    nets: list[tuple[Decimal, int]]  # what remains of each priced line after its discounts
    added: list[DraftLine] = field(default_factory=list)  # discounts and true-up

    def net_minor(self) -> int:
        return sum(line.amount_minor for line in self.priced) + sum(
            line.amount_minor for line in self.added
        )


@dataclass
class _Remaining:
    """What the discounts may still take off the whole invoice (never below zero)."""

    minor: int

    def cap(self, net: Decimal, net_minor: int, exponent: int) -> tuple[Decimal, int]:
        if net_minor <= self.minor:
            return net, net_minor
        return min(net, amount_of_minor(self.minor, exponent)), self.minor


@dataclass(frozen=True)
class InvoiceFrame:
    account_customer_id: str
    currency: str
    bill_cycle_day: int
    cycle_on: date
    service: BillingPeriod
    usage: BillingPeriod


def assemble(
    frame: InvoiceFrame,
    pricer: LinePricer,
    priced: Sequence[DraftLine],
    subscriptions: Sequence[SubscriptionTerms],
    account_coupons: Sequence[CouponRedemption],
    credit_balance_minor: int,
) -> InvoiceDraft:
    groups = _groups(priced, subscriptions)
    invoice = _Remaining(sum(line.amount_minor for line in priced))
    terms_by_id = {terms.subscription_id: terms for terms in subscriptions}
    live = _live_coupons(frame, subscriptions, account_coupons)
    for scope, redemption in live:
        if redemption.coupon.applies_to is not None:
            _charge_coupon(pricer, groups, scope, redemption, invoice)
    for scope, redemption in live:
        if redemption.coupon.applies_to is None and scope is not None:
            _invoice_coupon(pricer, frame, groups, scope, redemption, invoice)
    for scope, redemption in live:
        if redemption.coupon.applies_to is None and scope is None:
            _invoice_coupon(pricer, frame, groups, None, redemption, invoice)
    for subscription_id, group in groups.items():
        terms = terms_by_id.get(subscription_id)
        if terms is not None and terms.commitment is not None:
            _true_up(pricer, frame, terms, group)
    return _draft(frame, pricer, groups, credit_balance_minor)


def _groups(
    priced: Sequence[DraftLine], subscriptions: Sequence[SubscriptionTerms]
) -> dict[str, _Group]:
    by_id: dict[str, list[DraftLine]] = {terms.subscription_id: [] for terms in subscriptions}
    for line in priced:
        by_id.setdefault(line.subscription_id, []).append(line)
    ordered = sorted(by_id, key=lambda key: (key == ACCOUNT, key))
    groups: dict[str, _Group] = {}
    for key in ordered:
        lines = sorted(
            by_id[key], key=lambda line: (_RANK.get(line.kind, 5), line.metric_code or "")
        )
        groups[key] = _Group(lines, [(line.amount, line.amount_minor) for line in lines])
    return groups


def _live_coupons(
    frame: InvoiceFrame,
    subscriptions: Sequence[SubscriptionTerms],
    account_coupons: Sequence[CouponRedemption],
) -> list[tuple[str | None, CouponRedemption]]:
    """Coupons that apply to this invoice, each with its scope (a subscription or None)."""
    scoped: list[tuple[str | None, CouponRedemption]] = []
    for terms in sorted(subscriptions, key=lambda terms: terms.subscription_id):
        scoped.extend((terms.subscription_id, redemption) for redemption in terms.coupons)
    scoped.extend((None, redemption) for redemption in account_coupons)
    return [
        (scope, redemption)
        for scope, redemption in scoped
        if coupon_applies(redemption, frame.cycle_on, frame.bill_cycle_day)
    ]


def _charge_coupon(
    pricer: LinePricer,
    groups: dict[str, _Group],
    scope: str | None,
    redemption: CouponRedemption,
    invoice: _Remaining,
) -> None:
    coupon = redemption.coupon
    remaining = coupon.value  # for amount coupons: what is left to give on this invoice
    for key, group in groups.items():
        if scope is not None and key != scope:
            continue
        for index, line in enumerate(group.priced):
            if line.charge_code != coupon.applies_to:
                continue
            net, net_minor = group.nets[index]
            wanted = coupon.discount(net) if coupon.kind == "percent" else remaining
            cap, cap_minor = invoice.cap(net, net_minor, pricer.exponent)
            amount, amount_minor = cap_discount(wanted, cap, cap_minor, pricer.exponent)
            if amount == 0:
                continue
            group.nets[index] = (net - amount, net_minor - amount_minor)
            invoice.minor -= amount_minor
            remaining -= amount
            group.added.append(
                _discount(pricer, coupon.code, line.description, key, line, amount, amount_minor)
            )


def _invoice_coupon(
    pricer: LinePricer,
    frame: InvoiceFrame,
    groups: dict[str, _Group],
    scope: str | None,
    redemption: CouponRedemption,
    invoice: _Remaining,
) -> None:
    coupon = redemption.coupon
    targets = [groups[scope]] if scope is not None and scope in groups else []
    if scope is None:
        targets = list(groups.values())
    base_minor = sum(group.net_minor() for group in targets)
    base = amount_of_minor(base_minor, pricer.exponent)
    cap, cap_minor = invoice.cap(base, base_minor, pricer.exponent)
    amount, amount_minor = cap_discount(coupon.discount(base), cap, cap_minor, pricer.exponent)
    if amount == 0:
        return
    invoice.minor -= amount_minor
    key = ACCOUNT if scope is None else scope
    where = "the invoice" if scope is None else f"subscription {scope}"
    line = pricer.line(
        "discount",
        f"Coupon {coupon.code} on {where}",
        key,
        None,
        _ONE,
        -amount,
        -amount,
        frame.service,
        None,
    )
    groups.setdefault(key, _Group([], [])).added.append(line)


def _discount(
    pricer: LinePricer,
    code: str,
    target: str,
    subscription_id: str,
    line: DraftLine,
    amount: Decimal,
    amount_minor: int,
) -> DraftLine:
    return DraftLine(
        "discount",
        f"Coupon {code} on {target}",
        subscription_id,
        line.metric_code,
        _ONE,
        -amount,
        -amount,
        -amount_minor,
        line.period_start,
        line.period_end,
        line.charge_code,
    )


def _true_up(
    pricer: LinePricer, frame: InvoiceFrame, terms: SubscriptionTerms, group: _Group
) -> None:
    """max(0, minimum - net charges of the subscription), for a subscription live in the usage
    period (started before its end, not cancelled before its start)."""
    assert terms.commitment is not None
    if terms.started_on >= frame.usage.end:
        return
    if terms.cancelled_on is not None and terms.cancelled_on <= frame.usage.start:
        return
    minimum_minor = minor_of(terms.commitment.minimum_amount, pricer.exponent)
    missing_minor = true_up_minor(minimum_minor, group.net_minor())
    if missing_minor == 0:
        return
    amount = amount_of_minor(missing_minor, pricer.exponent)
    group.added.append(
        pricer.line(
            "commitment",
            terms.commitment.description,
            terms.subscription_id,
            None,
            _ONE,
            amount,
            amount,
            frame.usage,
            None,
        )
    )


def _draft(
    frame: InvoiceFrame, pricer: LinePricer, groups: dict[str, _Group], balance_minor: int
) -> InvoiceDraft:
    lines: list[DraftLine] = []
    for group in groups.values():
        lines.extend(group.priced)
        lines.extend(group.added)
    subtotal_minor = sum(line.amount_minor for line in lines)
    tax_minor = 0  # seam for taxes (later issue): per-line or per-invoice rounding rule
    applied_minor, remaining_minor = apply_credits(balance_minor, subtotal_minor + tax_minor)
    if applied_minor:
        amount = amount_of_minor(applied_minor, pricer.exponent)
        lines.append(
            pricer.line(
                "credit",
                "Prepaid credits",
                ACCOUNT,
                None,
                _ONE,
                -amount,
                -amount,
                frame.service,
                None,
            )
        )
    discount_minor = -sum(line.amount_minor for line in lines if line.kind == "discount")
    return InvoiceDraft(
        customer_id=frame.account_customer_id,
        currency=frame.currency,
        cycle_on=frame.cycle_on,
        service_period=frame.service,
        usage_period=frame.usage,
        lines=tuple(lines),
        subtotal_minor=subtotal_minor,
        total_minor=subtotal_minor + tax_minor - applied_minor,
        discount_minor=discount_minor,
        credits_applied_minor=applied_minor,
        credit_balance_remaining_minor=remaining_minor,
    )
