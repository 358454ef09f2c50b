"""Usage lines of one subscription: one per (usage charge, group value), in arrears."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

from billing.money import ZERO_PRECISE, div_precise, mul_precise
from billing.periods import BillingPeriod
from billing.pricing.charge import Charge
from billing.pricing.package import Package
from billing.pricing.per_unit import PerUnit
from billing.pricing.percentage import Percentage, price_transaction_total, price_transactions
from billing.pricing.phases import phase_on
from billing.pricing.recurring import RecurringFee
from billing.pricing.recurring_lines import LinePricer
from billing.pricing.terms import DraftLine, SubscriptionTerms, UsageIndex, UsageTotal
from billing.pricing.tiered import Volume
from billing.pricing.usage import billable_units, price_usage_unchecked


def usage_lines(
    pricer: LinePricer,
    terms: SubscriptionTerms,
    period: BillingPeriod,
    usage_by_key: UsageIndex,
) -> Iterator[DraftLine]:
    """Usage of `period`, priced by the charges of the phase in effect on its last day."""
    charges = terms.all_charges
    factor = Decimal(1)
    if terms.phases:
        last_day = period.end - timedelta(days=1)
        phase = phase_on(terms.phases, terms.schedule.interval, terms.started_on, last_day)
        if phase is not None:
            factor = phase.price_factor
            charges = charges if phase.charges is None else phase.charges
    if factor == 0:
        return
    subscription_id = terms.subscription_id
    for charge in charges:
        if charge.metric_code is None:
            continue
        totals = usage_by_key.get((subscription_id, charge.metric_code))
        for total in totals or ():
            if total.quantity == 0 and not total.transactions and not total.count:
                continue
            amount, unit_amount = price_total(charge, total)
            if factor != 1:
                amount = mul_precise(amount, factor)
            description = charge.description
            if total.group is not None:
                description = f"{description} — {total.group}"
            yield pricer.line(
                "usage",
                description,
                subscription_id,
                charge.metric_code,
                total.quantity,
                unit_amount,
                amount,
                period,
                charge.code,
            )


def price_total(charge: Charge, total: UsageTotal) -> tuple[Decimal, Decimal]:
    """(amount, unit_amount shown on the line) of one usage total under `charge`."""
    model = charge.model
    if isinstance(model, RecurringFee):
        raise ValueError(f"charge {charge.code!r}: a recurring fee does not price usage")
    if isinstance(model, Percentage):
        return _percentage(charge, model, total), model.rate
    quantity = total.quantity
    amount = price_usage_unchecked(model, quantity)
    if isinstance(model, PerUnit):
        return amount, model.unit_amount
    if isinstance(model, Package):
        return amount, model.package_amount
    if isinstance(model, Volume):
        return amount, model.tier_for(billable_units(quantity, model.free_units)).unit_amount
    return amount, ZERO_PRECISE if quantity == 0 else div_precise(amount, quantity)


def _percentage(charge: Charge, model: Percentage, total: UsageTotal) -> Decimal:
    if total.transactions is not None:
        return price_transactions(model, total.transactions)
    if model.per_transaction_bounds or (model.fixed_amount != 0 and total.count is None):
        raise ValueError(
            f"usage total {total.subscription_id}/{total.metric_code}: charge {charge.code!r} "
            "takes a fee per transaction, so the usage total needs each transaction's amount "
            "(transactions=...) or, without min/max, the number of transactions (count=...)"
        )
    return price_transaction_total(model, total.quantity, total.count or 0)
