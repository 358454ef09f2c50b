"""Usage inputs of an invoice, computed set-based in the database: aggregated totals per
(subscription, metric, group) for the catalog's metrics, telco-rated rollups for `rated`
charges, and late-usage adjustments for the previous, already invoiced usage period (the
difference itself is computed by the pure `billing.late_usage`).

Metrics are defined by the catalog version each subscription was sold on (the newest version
wins when two subscriptions of one account disagree on a metric's definition). Rated charges
rate the period's not-yet-rated events first (idempotent), then sum them per destination and
band; a rate table must price in the account's currency.

Late usage: events accepted within the late window after a usage period closed, but after its
invoice was issued, are billed on the next invoice as `adjustment` lines. The closed period is
re-aggregated and re-priced as a whole (so max, unique counts and tiers stay right) and each
line's difference from what was billed (including earlier adjustments) becomes one line.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from billing.invoice import AccountTerms, UsageTotal, build_invoice
from billing.late_usage import BilledLine, late_usage_lines
from billing.metrics import MetricSpec
from billing.money import div_precise
from billing.periods import BillingPeriod, local_start_utc
from billing.pricing import ExtraLine, Percentage
from models.config import ConfigSnapshot
from models.rating_repo import rate_period, rated_totals
from models.repo_terms import BilledSubscription, SubscriptionTermsError
from models.tables import InvoiceLineRow, InvoiceRow, UsageEventRow
from models.usage_aggregate import aggregate_metric
from models.usage_settle import settle_pending


@dataclass(frozen=True)
class UsageInputs:
    totals: list[UsageTotal]
    rated_lines: list[ExtraLine]


def usage_inputs(
    session: Session,
    config: ConfigSnapshot,
    account: AccountTerms,
    subscriptions: Sequence[BilledSubscription],
    period: BillingPeriod,
    now: datetime,
    *,
    until: datetime | None = None,
) -> UsageInputs:
    """Usage of [period start, period end) in the account's timezone, or of
    [period start, `until`) for usage to date. Journaled events are settled first."""
    settle_pending(session.connection())
    start_at = local_start_utc(period.start, account.timezone)
    end_at = until or local_start_utc(period.end, account.timezone)
    totals: list[UsageTotal] = []
    for spec, subscription_ids, per_transaction in _metric_plan(config, subscriptions):
        totals.extend(
            aggregate_metric(session, spec, start_at, end_at, subscription_ids, per_transaction)
        )
    rated = _rated_lines(session, config, account, subscriptions, period, start_at, end_at, now)
    return UsageInputs(totals, rated)


def _metric_plan(
    config: ConfigSnapshot, subscriptions: Sequence[BilledSubscription]
) -> list[tuple[MetricSpec, list[str], bool]]:
    specs: dict[str, MetricSpec] = {}
    users: dict[str, list[str]] = defaultdict(list)
    percentage: set[str] = set()
    for billed in sorted(subscriptions, key=lambda b: b.catalog_version):
        catalog = config.catalog(billed.catalog_version)
        for code in sorted(billed.terms.metric_codes()):
            specs[code] = catalog.metric(code).to_spec()
            users[code].append(billed.subscription_id)
        percentage |= {
            c.metric_code
            for c in billed.terms.all_charges
            if isinstance(c.model, Percentage) and c.metric_code
        }
    return [(specs[code], users[code], code in percentage) for code in sorted(specs)]


def _rated_lines(
    session: Session,
    config: ConfigSnapshot,
    account: AccountTerms,
    subscriptions: Sequence[BilledSubscription],
    period: BillingPeriod,
    start_at: datetime,
    end_at: datetime,
    now: datetime,
) -> list[ExtraLine]:
    by_table: dict[str, list[str]] = defaultdict(list)
    for billed in subscriptions:
        for spec in billed.pricing.rated:
            by_table[spec.rate_table].append(billed.subscription_id)
    lines: list[ExtraLine] = []
    for code, subscription_ids in sorted(by_table.items()):
        table = config.rate_table(code)
        if table.currency != account.currency:
            raise SubscriptionTermsError(
                f"rate table {code!r} prices in {table.currency}, but customer "
                f"{account.customer_id} is billed in {account.currency}: sell that customer a "
                f"plan whose rate table is in {account.currency}"
            )
        rate_period(session, table.to_core(), start_at, end_at, now, sorted(set(subscription_ids)))
        for total in rated_totals(session, start_at, end_at, sorted(set(subscription_ids))):
            billed_quantity = Decimal(total.billed_quantity)
            unit = div_precise(total.amount, billed_quantity) if billed_quantity else Decimal(0)
            lines.append(
                ExtraLine(
                    kind="usage",
                    description=total.description,
                    subscription_id=total.subscription_id,
                    metric_code=None,
                    quantity=billed_quantity,
                    unit_amount=unit,
                    amount=total.amount,
                    period_start=period.start,
                    period_end=period.end,
                )
            )
    return lines


# --- late usage ---------------------------------------------------------------------------------


def late_usage_adjustments(
    session: Session,
    config: ConfigSnapshot,
    account: AccountTerms,
    subscriptions: Sequence[BilledSubscription],
    previous_cycle_on: date,
    now: datetime,
) -> list[ExtraLine]:
    """Adjustment lines for events that arrived after the previous invoice was issued but
    belong to its usage period; [] when there are none."""
    settle_pending(session.connection())
    previous = session.scalar(
        select(InvoiceRow).where(
            InvoiceRow.customer_id == account.customer_id,
            InvoiceRow.period_start == previous_cycle_on,
        )
    )
    if previous is None or not subscriptions:
        return []
    period = BillingPeriod(previous.usage_period_start, previous.usage_period_end)
    if not _late_events(session, account, subscriptions, period, previous.created_at):
        return []
    inputs = usage_inputs(session, config, account, subscriptions, period, now)
    repriced = build_invoice(
        account,
        [b.terms for b in subscriptions],
        inputs.totals,
        previous_cycle_on,
        extra_lines=inputs.rated_lines,
    )
    billed = _billed_usage(session, account.customer_id, previous.id, period)
    return late_usage_lines(repriced.lines, billed, period)


def _late_events(
    session: Session,
    account: AccountTerms,
    subscriptions: Sequence[BilledSubscription],
    period: BillingPeriod,
    invoiced_at: datetime,
) -> bool:
    e = UsageEventRow
    found = session.scalar(
        select(func.count())
        .select_from(e)
        .where(
            e.subscription_id.in_([b.subscription_id for b in subscriptions]),
            e.occurred_at >= local_start_utc(period.start, account.timezone),
            e.occurred_at < local_start_utc(period.end, account.timezone),
            e.received_at > invoiced_at,
        )
    )
    return bool(found)


def _billed_usage(
    session: Session, customer_id: str, invoice_id: str, period: BillingPeriod
) -> list[BilledLine]:
    """What was billed for the usage period: its invoice's usage lines plus the late-usage
    adjustments billed since."""
    rows = session.execute(
        select(
            InvoiceLineRow.subscription_id,
            InvoiceLineRow.description,
            InvoiceLineRow.kind,
            InvoiceLineRow.quantity,
            InvoiceLineRow.amount_precise,
        )
        .join(InvoiceRow, InvoiceRow.id == InvoiceLineRow.invoice_id)
        .where(
            InvoiceRow.customer_id == customer_id,
            (
                (InvoiceLineRow.invoice_id == invoice_id) & (InvoiceLineRow.kind == "usage")
                | (InvoiceLineRow.kind == "adjustment")
                & (InvoiceLineRow.period_start == period.start)
                & (InvoiceLineRow.period_end == period.end)
            ),
        )
    ).all()
    return [
        BilledLine(sub, description, kind, Decimal(quantity), Decimal(amount))
        for sub, description, kind, quantity, amount in rows
    ]
