"""`o2c price`: preview the charges of a plan (or of one charge spec) straight from catalog YAML,
without a database or Temporal, with the pricing core that bills.

The preview is the bill of one service period [period_start, period_end) of a subscription that
starts on period_start: its recurring fees (in advance and in arrears, prorated by days, per
phase), the instalments due, one-time charges and a paid trial, the usage given for the period,
then coupons, the minimum commitment and prepaid credits, each line rounded once. The period
ends by default where the plan's schedule period that holds period_start ends.
"""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from billing.invoice import (
    AccountTerms,
    DraftLine,
    InvoiceDraft,
    SubscriptionTerms,
    UsageTotal,
    build_invoice,
)
from billing.money import from_minor, to_minor
from billing.periods import BillingPeriod, Schedule
from billing.pricing import CouponRedemption, Percentage
from models.config_catalog import CatalogConfig, CouponConfig, PlanConfig
from models.pricing_terms import PlanPricing, coupon_spec, plan_pricing
from starter.price_input import (
    PriceInputError,
    PriceRequest,
    build_request,
    parse_pairs,
    read_input,
    resolve_plan,
)

__all__ = ["PriceInputError", "PriceRequest", "preview", "run_price"]

PREVIEW_ID = "preview"  # the customer id of the preview; the subscription id is the plan code


# --- pricing --------------------------------------------------------------------------------------


def preview(
    request: PriceRequest, plan: PlanConfig, catalog: CatalogConfig | None
) -> dict[str, Any]:
    """The JSON-ready preview of `request` for `plan` (coupons from `catalog`)."""
    currency = request.currency
    if currency not in plan.currencies:
        sold = ", ".join(sorted(plan.currencies))
        raise PriceInputError(f"--currency: plan {plan.code!r} is not sold in {currency} ({sold})")
    pricing = plan_pricing(plan, currency)
    _check_usage(request, pricing)
    terms, period = _terms(request, pricing, catalog)
    draft = _draft(request, pricing, terms, period)
    return _as_json(request, plan, catalog, pricing, period, draft)


def _check_usage(request: PriceRequest, pricing: PlanPricing) -> None:
    priced = {c.metric_code for c in pricing.charges if c.metric_code is not None}
    rated = {r.metric_code for r in pricing.rated}
    for metric in request.usage:
        charge = next((c for c in pricing.charges if c.metric_code == metric), None)
        if charge is not None and isinstance(charge.model, Percentage):
            raise PriceInputError(
                f"--usage: {metric} is priced per transaction: give each amount with"
                f" --transactions {metric}=100.00,250.00"
            )
    for metric in [*request.usage, *request.transactions]:
        if metric in rated:
            raise PriceInputError(
                f"--usage: {metric} is rated event by event with a rate table; o2c price takes"
                " quantities, not events: leave it out"
            )
        if metric not in priced:
            known = ", ".join(sorted(priced)) or "none"
            raise PriceInputError(
                f"--usage: plan {pricing.plan_code!r} has no charge on metric {metric!r}"
                f" (metrics: {known})"
            )


def _schedule(request: PriceRequest, pricing: PlanPricing) -> Schedule:
    day = request.bill_cycle_day or 1
    if pricing.alignment == "calendar" and pricing.interval == "week" and day > 7:
        raise PriceInputError(
            f"--bill-cycle-day: weekly periods start on a weekday 1..7 (1 = Monday), got {day}"
        )
    return pricing.schedule(day)


def _terms(
    request: PriceRequest, pricing: PlanPricing, catalog: CatalogConfig | None
) -> tuple[SubscriptionTerms, BillingPeriod]:
    start = request.period_start
    schedule = _schedule(request, pricing)
    end = request.period_end or schedule.grid(start, start.day).period_containing(start).end
    trial_end = start + timedelta(days=pricing.trial_days) if pricing.trial_days else None
    redemptions = tuple(
        CouponRedemption(coupon_spec(_coupon(catalog, code), request.currency), start)
        for code in request.coupons
    )
    terms = SubscriptionTerms(
        subscription_id=pricing.plan_code,
        plan_code=pricing.plan_code,
        plan_name=pricing.plan_name,
        quantity=request.seats,
        status="trialing" if trial_end else "active",
        started_on=start,
        trial_end_on=trial_end,
        cancelled_on=None,
        flat_charges=(),
        usage_charges=(),
        charges=pricing.charges,
        schedule=schedule,
        coupons=redemptions,
        phases=pricing.phases,
        installment_plans=pricing.installment_plans(start),
        commitment=pricing.commitment,
    )
    return terms, BillingPeriod(start, end)


def _coupon(catalog: CatalogConfig | None, code: str) -> CouponConfig:
    if catalog is None:
        raise PriceInputError("--coupon: coupons come from a catalog: price a plan, not a charge")
    try:
        return catalog.coupon(code.upper())
    except KeyError as exc:
        raise PriceInputError(f"--coupon: {exc}") from None


def _draft(
    request: PriceRequest, pricing: PlanPricing, terms: SubscriptionTerms, period: BillingPeriod
) -> InvoiceDraft:
    """`billing.invoice.build_invoice` (the code that bills) on one period for fees and usage."""
    currency = request.currency
    sid = terms.subscription_id
    usage = [UsageTotal(sid, metric, quantity) for metric, quantity in request.usage.items()]
    for metric, amounts in request.transactions.items():
        usage.append(UsageTotal(sid, metric, sum(amounts, Decimal(0)), None, tuple(amounts)))
    account = AccountTerms(PREVIEW_ID, currency, "UTC", period.start.day)
    credits_minor = 0 if request.credits is None else to_minor(request.credits, currency)
    return build_invoice(
        account,
        [terms],
        usage,
        period.start,
        extra_lines=pricing.first_invoice_lines(sid, period),
        credit_balance_minor=credits_minor,
        periods=(period, period),
    )


def _as_json(
    request: PriceRequest,
    plan: PlanConfig,
    catalog: CatalogConfig | None,
    pricing: PlanPricing,
    period: BillingPeriod,
    draft: InvoiceDraft,
) -> dict[str, Any]:
    currency = request.currency

    def money(minor: int) -> str:
        return format(from_minor(minor, currency), "f")

    return {
        "catalog_version": catalog.version if catalog else None,
        "plan": plan.code,
        "currency": currency,
        "period": {"start": period.start.isoformat(), "end": period.end.isoformat()},
        "seats": request.seats,
        "lines": [_line(line) for line in draft.lines],
        "totals": {
            "subtotal": money(draft.subtotal_minor),
            "subtotal_minor": draft.subtotal_minor,
            "discount": money(draft.discount_minor),
            "credits_applied": money(draft.credits_applied_minor),
            "total": money(draft.total_minor),
            "total_minor": draft.total_minor,
            "credit_balance_remaining": money(draft.credit_balance_remaining_minor),
        },
        "not_priced": [
            {"charge": r.code, "reason": f"rated event by event with rate table {r.rate_table}"}
            for r in pricing.rated
        ],
    }


def _line(line: DraftLine) -> dict[str, Any]:
    return {
        "kind": line.kind,
        "description": line.description,
        "charge": line.charge_code,
        "period_start": line.period_start.isoformat(),
        "period_end": line.period_end.isoformat(),
        "quantity": format(line.quantity, "f"),
        "unit_amount": format(line.unit_amount, "f"),
        "amount": format(line.amount, "f"),
        "amount_minor": line.amount_minor,
    }


# --- the command ----------------------------------------------------------------------------------


def load_catalog(request: PriceRequest, config_dir: Path) -> CatalogConfig | None:
    """--catalog's file, else the catalog of `config_dir` in force on period_start."""
    from models.config_loader import ConfigError, load_catalog_file, load_config

    if request.charge is not None and request.catalog is None:
        return None
    try:
        if request.catalog is not None:
            return load_catalog_file(request.catalog)
        return load_config(config_dir).catalog_on(request.period_start)
    except ConfigError as exc:
        more = len(exc.problems) - 1
        tail = f" (and {more} more: run `o2c config check`)" if more > 0 else ""
        raise PriceInputError(f"invalid catalog: {exc.problems[0]}{tail}") from None
    except KeyError as exc:
        raise PriceInputError(f"--period-start: {exc}") from None


def run_price(options: dict[str, Any], input_path: Path | None, config_dir: Path) -> str:
    """The preview as indented JSON; PriceInputError for anything the user must fix."""
    file_data = read_input(input_path) if input_path is not None else {}
    options = {
        **options,
        "usage": parse_pairs("--usage", options.get("usage") or [], many=False),
        "transactions": parse_pairs("--transactions", options.get("transactions") or [], True),
    }
    request = build_request(file_data, options)
    catalog = load_catalog(request, config_dir)
    try:
        result = preview(request, resolve_plan(request, catalog), catalog)
    except ValueError as exc:  # the core's own checks (e.g. a fee needing each transaction)
        if isinstance(exc, PriceInputError):
            raise
        raise PriceInputError(str(exc)) from None
    return json.dumps(result, indent=2, ensure_ascii=False)
