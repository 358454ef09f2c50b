"""From catalog YAML to the pricing core: a plan's charges, phases, trial, commitment and the
catalog's coupons, in one currency, as the values of ``billing.pricing`` that bill.

`plan_pricing(plan, currency)` is what the bill cycle, previews and `o2c price` build the
subscription terms from; `coupon_spec(coupon, currency)` turns a catalog coupon into a core
`Coupon`. Everything here is pure and raises `PricingTermsError` (a ValueError) with a message
that says what is missing and how to fix it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal

from billing.money import precise_product
from billing.periods import Alignment, BillingPeriod, Interval, Schedule
from billing.pricing import (
    Charge,
    Commitment,
    Coupon,
    ExtraLine,
    Graduated,
    InstallmentPlan,
    Installments,
    OneTimeCharge,
    Package,
    Percentage,
    PerUnit,
    Phase,
    RecurringFee,
    Tier,
    Volume,
)
from models.config_catalog import CouponConfig, PhaseConfig, PlanConfig
from models.config_charges import (
    ChargeConfig,
    FlatChargeConfig,
    GraduatedChargeConfig,
    InstallmentsChargeConfig,
    OneTimeChargeConfig,
    PackageChargeConfig,
    PercentageChargeConfig,
    PerUnitChargeConfig,
    RatedChargeConfig,
    TierConfig,
    VolumeChargeConfig,
)

ChangePolicy = Literal["immediate", "end_of_term"]


class PricingTermsError(ValueError):
    """A plan, charge or coupon cannot be priced in the requested currency."""


@dataclass(frozen=True)
class InstallmentSpec:
    """An instalment charge before it is sold: its plan starts on the subscription's date."""

    code: str
    description: str
    installments: Installments

    def plan(self, first_due_on: date) -> InstallmentPlan:
        return InstallmentPlan(self.description, self.installments, first_due_on, self.code)


@dataclass(frozen=True)
class RatedChargeSpec:
    """Events of `metric_code` priced one by one with the rate table `rate_table` (its own
    currency); the rating engine (`billing.rating`) prices them, not a quantity model."""

    code: str
    description: str
    metric_code: str
    rate_table: str


ChargeSpec = Charge | OneTimeCharge | InstallmentSpec | RatedChargeSpec


@dataclass(frozen=True)
class PlanPricing:
    """A plan in one currency, in core values."""

    plan_code: str
    plan_name: str
    currency: str
    interval: Interval
    alignment: Alignment
    change_policy: ChangePolicy
    trial_days: int
    trial_charge: OneTimeCharge | None  # a paid trial: billed once for the whole trial
    charges: tuple[Charge, ...]  # recurring fees, quantity models and percentage charges
    one_time: tuple[OneTimeCharge, ...]  # billed on the first invoice
    installments: tuple[InstallmentSpec, ...]
    rated: tuple[RatedChargeSpec, ...]
    phases: tuple[Phase, ...]
    commitment: Commitment | None  # per period

    def schedule(self, bill_cycle_day: int | None = None) -> Schedule:
        """The plan's periods; `bill_cycle_day` anchors calendar alignment (None: the
        account's day; for weeks 1..7 = Monday..Sunday) and is ignored for anniversary."""
        if self.alignment == "anniversary":
            return Schedule(self.interval, "anniversary")
        return Schedule(self.interval, "calendar", bill_cycle_day)

    def installment_plans(self, first_due_on: date) -> tuple[InstallmentPlan, ...]:
        return tuple(spec.plan(first_due_on) for spec in self.installments)

    def first_invoice_lines(self, subscription_id: str, period: BillingPeriod) -> list[ExtraLine]:
        """One-time charges and a paid trial, owed once on the subscription's first invoice."""
        trial = [self.trial_charge] if self.trial_charge is not None else []
        return [
            ExtraLine(
                kind="one_time",
                description=item.description,
                subscription_id=subscription_id,
                metric_code=None,
                quantity=item.quantity,
                unit_amount=item.amount,
                amount=precise_product(item.quantity, item.amount),
                period_start=period.start,
                period_end=period.end,
                charge_code=item.code,
            )
            for item in (*self.one_time, *trial)
        ]


def plan_pricing(plan: PlanConfig, currency: str) -> PlanPricing:
    """`plan` priced in `currency`; PricingTermsError when the plan is not sold in it."""
    if currency not in plan.currencies:
        sold = ", ".join(sorted(plan.currencies))
        raise PricingTermsError(
            f"plan {plan.code!r} is not sold in {currency} (it is priced in {sold})"
        )
    specs = [charge_spec(charge, currency) for charge in plan.charges]
    charges = tuple(s for s in specs if isinstance(s, Charge))
    trial = None
    if plan.trial_price is not None:
        trial = OneTimeCharge(
            f"Trial ({plan.trial_days} days)", plan.trial_price[currency], code="trial"
        )
    commitment = None
    if plan.minimum_commitment is not None:
        commitment = Commitment(plan.minimum_commitment[currency])
    return PlanPricing(
        plan_code=plan.code,
        plan_name=plan.name,
        currency=currency,
        interval=plan.interval,
        alignment=plan.alignment,
        change_policy=plan.change_policy,
        trial_days=plan.trial_days,
        trial_charge=trial,
        charges=charges,
        one_time=tuple(s for s in specs if isinstance(s, OneTimeCharge)),
        installments=tuple(s for s in specs if isinstance(s, InstallmentSpec)),
        rated=tuple(s for s in specs if isinstance(s, RatedChargeSpec)),
        phases=tuple(_phase(p, plan, charges, currency) for p in plan.phases or ()),
        commitment=commitment,
    )


def charge_spec(charge: ChargeConfig, currency: str) -> ChargeSpec:
    """One catalog charge in `currency` as a core value (a `Charge` for priced models)."""
    code, description = charge.charge_code, charge.description
    if isinstance(charge, RatedChargeConfig):
        return RatedChargeSpec(code, description, charge.metric, charge.rate_table)
    _require_currency(charge, currency)
    if isinstance(charge, OneTimeChargeConfig):
        return OneTimeCharge(description, charge.prices[currency], code=code)
    if isinstance(charge, InstallmentsChargeConfig):
        return InstallmentSpec(
            code, description, Installments(charge.total[currency], charge.count)
        )
    if isinstance(charge, FlatChargeConfig):
        fee = RecurringFee(charge.prices[currency], charge.timing, charge.per_seat)
        return Charge(code, description, fee)
    return Charge(code, description, _usage_model(charge, currency), charge.metric)


def _usage_model(
    charge: PerUnitChargeConfig
    | GraduatedChargeConfig
    | VolumeChargeConfig
    | PackageChargeConfig
    | PercentageChargeConfig,
    currency: str,
) -> PerUnit | Graduated | Volume | Package | Percentage:
    if isinstance(charge, PerUnitChargeConfig):
        return PerUnit(charge.prices[currency], charge.free_units)
    if isinstance(charge, GraduatedChargeConfig):
        return Graduated(_tiers(charge.tiers, currency), charge.free_units)
    if isinstance(charge, VolumeChargeConfig):
        return Volume(_tiers(charge.tiers, currency), charge.free_units)
    if isinstance(charge, PackageChargeConfig):
        return Package(charge.package_size, charge.prices[currency], charge.free_units)
    return Percentage(
        rate=charge.rate,
        fixed_amount=(charge.fixed_fee or {}).get(currency, Decimal(0)),
        min_amount=(charge.min_fee or {}).get(currency),
        max_amount=(charge.max_fee or {}).get(currency),
    )


def _tiers(tiers: list[TierConfig], currency: str) -> tuple[Tier, ...]:
    return tuple(
        Tier(
            up_to=tier.up_to,
            unit_amount=tier.unit_price[currency],
            flat_amount=(tier.flat_price or {}).get(currency, Decimal(0)),
        )
        for tier in tiers
    )


def _require_currency(charge: ChargeConfig, currency: str) -> None:
    currencies = charge.currencies
    if currencies is not None and currency not in currencies:
        sold = ", ".join(sorted(currencies))
        raise PricingTermsError(
            f"charge {charge.charge_code!r} has no {currency} price (it is priced in {sold})"
        )


def _phase(
    phase: PhaseConfig, plan: PlanConfig, charges: tuple[Charge, ...], currency: str
) -> Phase:
    factor = Decimal(1) if phase.price_factor is None else phase.price_factor
    if phase.prices is None:
        return Phase(phase.name, phase.periods, factor)
    overridden = tuple(
        _override(charge, plan, phase.prices[charge.code][currency])
        if charge.code in phase.prices
        else charge
        for charge in charges
    )
    return Phase(phase.name, phase.periods, factor, overridden)


def _override(charge: Charge, plan: PlanConfig, amount: Decimal) -> Charge:
    """`charge` at the single price `amount` (flat, per-unit and package charges only)."""
    model = charge.model
    if isinstance(model, RecurringFee):
        new: PerUnit | Package | RecurringFee = RecurringFee(amount, model.timing, model.per_seat)
    elif isinstance(model, PerUnit):
        new = PerUnit(amount, model.free_units)
    elif isinstance(model, Package):
        new = Package(model.package_size, amount, model.free_units)
    else:
        raise PricingTermsError(
            f"plan {plan.code!r}: charge {charge.code!r} cannot take an override price"
        )
    return Charge(charge.code, charge.description, new, charge.metric_code)


def coupon_spec(coupon: CouponConfig, currency: str) -> Coupon:
    """`coupon` as a core Coupon for an invoice in `currency` (amount coupons need its price)."""
    value = coupon.value
    if isinstance(value, dict):
        if currency not in value:
            offered = ", ".join(sorted(value))
            raise PricingTermsError(
                f"coupon {coupon.code!r} has no {currency} amount (it is offered in {offered})"
            )
        value = value[currency]
    return Coupon(
        code=coupon.code,
        kind=coupon.kind,
        value=value,
        duration=coupon.duration,
        periods=coupon.periods,
        applies_to=coupon.applies_to,
    )
