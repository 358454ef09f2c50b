"""Subscription terms for the pricing core, read from the catalog version each subscription was
sold on (never from today's catalog): the same terms feed the bill cycle, previews and the
proration of lifecycle changes, so a preview equals the invoice later issued."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.invoice import SubscriptionTerms
from billing.pricing import CouponRedemption
from models.config import ConfigSnapshot, UnknownConfigError
from models.pricing_terms import PlanPricing, PricingTermsError, coupon_spec, plan_pricing
from models.tables import CouponRedemptionRow, CustomerRow, SubscriptionRow


class SubscriptionTermsError(LookupError):
    """A subscription whose terms cannot be priced (its catalog version or plan is gone, or the
    plan is not sold in the account's currency): the bill cycle parks the account."""


def pricing_of(
    config: ConfigSnapshot, plan_code: str, catalog_version: int, currency: str
) -> PlanPricing:
    return plan_pricing(config.catalog(catalog_version).plan(plan_code), currency)


def terms_of(
    config: ConfigSnapshot,
    row: SubscriptionRow,
    customer: CustomerRow,
    *,
    redemptions: Sequence[CouponRedemptionRow] = (),
    service_start: date | None = None,
) -> SubscriptionTerms:
    """The subscription's terms; with `service_start`, a change scheduled for the end of the
    term that takes effect by then is priced already (the invoice of the new period)."""
    plan_code, version, quantity = row.plan_code, row.catalog_version, row.quantity
    pending = row.pending_change_on
    if service_start is not None and pending is not None and pending <= service_start:
        plan_code = row.pending_plan_code or plan_code
        version = row.pending_catalog_version or version
        quantity = row.pending_quantity or quantity
    try:
        pricing = pricing_of(config, plan_code, version, customer.currency)
    except (UnknownConfigError, PricingTermsError) as exc:
        raise SubscriptionTermsError(
            f"subscription {row.id}: plan {plan_code} v{version}: {exc}"
        ) from exc
    coupons = tuple(
        CouponRedemption(
            coupon_spec(config.catalog(r.catalog_version).coupon(r.coupon_code), customer.currency),
            r.redeemed_on,
        )
        for r in redemptions
    )
    return SubscriptionTerms(
        subscription_id=row.id,
        plan_code=plan_code,
        plan_name=pricing.plan_name,
        quantity=quantity,
        status=row.status,  # type: ignore[arg-type]
        started_on=row.started_on,
        trial_end_on=row.trial_end_on,
        cancelled_on=row.cancelled_on,
        flat_charges=(),
        usage_charges=(),
        charges=pricing.charges,
        schedule=pricing.schedule(),
        coupons=coupons,
        phases=pricing.phases,
        installment_plans=pricing.installment_plans(row.started_on),
        commitment=pricing.commitment,
    )


@dataclass(frozen=True)
class BilledSubscription:
    """A subscription as one invoice prices it: its terms, the plan's pricing in the account's
    currency and the catalog version both come from."""

    terms: SubscriptionTerms
    pricing: PlanPricing
    catalog_version: int

    @property
    def subscription_id(self) -> str:
        return self.terms.subscription_id


def account_subscriptions(
    session: Session, config: ConfigSnapshot, customer: CustomerRow, service_start: date
) -> list[BilledSubscription]:
    """Every subscription of the account, with its coupons, in one pass; a change scheduled
    for the end of the term is priced once it takes effect by `service_start`."""
    rows = session.scalars(
        select(SubscriptionRow)
        .where(SubscriptionRow.customer_id == customer.id)
        .order_by(SubscriptionRow.id)
    ).all()
    redemptions: dict[str, list[CouponRedemptionRow]] = {}
    if rows:
        for redemption in session.scalars(
            select(CouponRedemptionRow)
            .where(CouponRedemptionRow.subscription_id.in_([r.id for r in rows]))
            .order_by(CouponRedemptionRow.id)
        ):
            redemptions.setdefault(redemption.subscription_id, []).append(redemption)
    billed: list[BilledSubscription] = []
    for row in rows:
        terms = terms_of(
            config, row, customer, redemptions=redemptions.get(row.id, ()),
            service_start=service_start,
        )  # fmt: skip
        version = _effective_version(row, service_start)
        pricing = pricing_of(config, terms.plan_code, version, customer.currency)
        billed.append(BilledSubscription(terms, pricing, version))
    return billed


def _effective_version(row: SubscriptionRow, service_start: date) -> int:
    pending = row.pending_change_on
    if pending is not None and pending <= service_start and row.pending_catalog_version:
        return row.pending_catalog_version
    return row.catalog_version
