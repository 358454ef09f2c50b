"""Charge models of the pricing core (pure): one small module per model, each with a validator.

Every model is a frozen dataclass whose `validate()` lists human problems (empty when valid)
and whose constructor raises ValueError with the same messages. Amounts are Decimals kept at
9 places; rounding to the currency's minor unit happens once per invoice line, in
`billing.invoice`.
"""

from billing.pricing.charge import USAGE_MODELS, Charge, ChargeModel, UsageModel
from billing.pricing.commitment import Commitment, true_up_minor
from billing.pricing.coupons import (
    Coupon,
    CouponDuration,
    CouponKind,
    CouponRedemption,
    coupon_applies,
    invoices_reached,
)
from billing.pricing.credits import apply_credits
from billing.pricing.lines import ExtraLine, LineKind
from billing.pricing.one_time import (
    InstallmentPlan,
    Installments,
    OneTimeCharge,
    installment_amount,
    one_time_line,
)
from billing.pricing.package import Package
from billing.pricing.per_unit import PerUnit
from billing.pricing.percentage import Percentage, price_transaction_total, price_transactions
from billing.pricing.phases import (
    Phase,
    PhaseSpan,
    phase_on,
    phase_segments,
    phase_spans,
    phases_problems,
)
from billing.pricing.recurring import RecurringFee, Timing
from billing.pricing.tiered import Graduated, Tier, Volume, tiers_problems
from billing.pricing.usage import billable_units, price_usage

__all__ = [
    "USAGE_MODELS",
    "Charge",
    "ChargeModel",
    "Commitment",
    "Coupon",
    "CouponDuration",
    "CouponKind",
    "CouponRedemption",
    "ExtraLine",
    "Graduated",
    "InstallmentPlan",
    "Installments",
    "LineKind",
    "OneTimeCharge",
    "Package",
    "PerUnit",
    "Percentage",
    "Phase",
    "PhaseSpan",
    "RecurringFee",
    "Tier",
    "Timing",
    "UsageModel",
    "Volume",
    "apply_credits",
    "billable_units",
    "coupon_applies",
    "installment_amount",
    "invoices_reached",
    "one_time_line",
    "phase_on",
    "phase_segments",
    "phase_spans",
    "phases_problems",
    "price_transaction_total",
    "price_transactions",
    "price_usage",
    "tiers_problems",
    "true_up_minor",
]
