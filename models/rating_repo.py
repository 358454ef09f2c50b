"""Rate the usage events of a period with a telco rate table, and roll the rated events up.

`rate_period` reads the events of the table's metrics in chunks (keyset pagination on id,
skipping events already rated), rates them with ``billing.rating.Rater`` and bulk-inserts
``rated_events`` with ON CONFLICT DO NOTHING on the transaction id: a second run adds nothing.
Events the table cannot rate (no prefix matches) are stored as ``unrated`` with the reason,
never dropped; each run retries them first, so fixing the table and re-running rates them.
`rated_totals` sums rated events per (subscription, service, destination, band) for invoice
lines; ``models.usage_export`` writes the per-invoice detail.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Insert, Table, and_, bindparam, delete, exists, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from billing.periods import local_start_utc
from billing.rating import Rater, RateTable, RatingError, ceil_units, nanos_to_decimal
from models.tables import (
    CustomerRow,
    InvoiceRow,
    RatedEventRow,
    SubscriptionRow,
    UsageEventRow,
)
from models.usage_aggregate import property_text, subscription_chunks

CHUNK_SIZE = 10_000
MAX_REASONS = 20

usage = cast(Table, UsageEventRow.__table__)
rated = cast(Table, RatedEventRow.__table__)


@dataclass
class RatingRunResult:
    events_read: int = 0  # events of the period not rated before this run
    rated: int = 0  # rated and stored (zero-value events included)
    zero_value: int = 0  # of which rated to 0
    unrated: int = 0  # stored as unrated, with the reason
    inserted: int = 0  # rows actually inserted (less if a concurrent run got there first)
    reasons: list[str] = field(default_factory=list)  # the first unrated reasons, by event


@dataclass(frozen=True)
class RatedTotal:
    subscription_id: str
    service: str
    destination_name: str
    band: str
    currency: str
    events: int
    quantity: int  # seconds, bytes or messages
    billed_quantity: int  # after increments
    amount: Decimal  # 9-place precise; the invoice line rounds it once

    @property
    def description(self) -> str:
        """'Voice — France mobile (peak)' for an invoice line."""
        what = self.service.capitalize() if self.service != "sms" else "SMS"
        where = "" if self.service == "data" else f" — {self.destination_name}"
        return f"{what}{where} ({self.band})"


def _insert(session: Session) -> Insert:
    dialect = session.get_bind().dialect.name
    builder = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = builder(rated).on_conflict_do_nothing(index_elements=["transaction_id"])
    return stmt.returning(rated.c.id)  # only the rows really inserted come back


def _events_query(table: RateTable, start_at: datetime, end_at: datetime, by_sub: bool) -> Any:
    not_rated = ~exists().where(rated.c.transaction_id == usage.c.transaction_id)
    conditions = [
        usage.c.metric_code.in_(list(table.metrics.values())),
        usage.c.occurred_at >= start_at,
        usage.c.occurred_at < end_at,
        usage.c.id > bindparam("after_id"),
        not_rated,
    ]
    if by_sub:
        conditions.append(usage.c.subscription_id.in_(bindparam("subs", expanding=True)))
    destination = property_text(table.destination_property)
    return (
        select(
            usage.c.id, usage.c.transaction_id, usage.c.subscription_id, usage.c.metric_code,
            usage.c.occurred_at, usage.c.quantity_units, usage.c.quantity_nanos,
            destination.label("destination"),
        )
        .where(and_(*conditions))
        .order_by(usage.c.id)
        .limit(bindparam("chunk"))
    )  # fmt: skip


def rate_period(
    session: Session,
    table: RateTable,
    start_at: datetime,
    end_at: datetime,
    now: datetime,
    subscription_ids: Collection[str] | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> RatingRunResult:
    """Rate the not-yet-rated events of [start_at, end_at) of the given subscriptions (None:
    all) for the table's metrics. Idempotent: rated events are never rated twice."""
    rater = Rater(table)
    result = RatingRunResult()
    query = _events_query(table, start_at, end_at, subscription_ids is not None)
    insert = _insert(session)
    for params in subscription_chunks(subscription_ids):
        _forget_unrated(session, start_at, end_at, params.get("subs"))
        after_id = 0
        while True:
            rows = session.execute(
                query, {**params, "after_id": after_id, "chunk": chunk_size}
            ).all()
            if not rows:
                break
            batch = [_rate_row(rater, table, row, now, result) for row in rows]
            result.inserted += len(session.connection().execute(insert, batch).all())
            after_id = rows[-1].id
    return result


def _forget_unrated(
    session: Session, start_at: datetime, end_at: datetime, subs: list[str] | None
) -> None:
    """Drop the unrated rows of the period so this run retries them (with today's table)."""
    stmt = delete(rated).where(
        rated.c.status == "unrated", rated.c.occurred_at >= start_at, rated.c.occurred_at < end_at
    )
    if subs is not None:
        stmt = stmt.where(rated.c.subscription_id.in_(subs))
    session.execute(stmt)


def _rate_row(
    rater: Rater, table: RateTable, row: Any, now: datetime, result: RatingRunResult
) -> dict[str, Any]:
    result.events_read += 1
    service = rater.service_of(row.metric_code) or ""
    number = row.destination or ""
    quantity = ceil_units(row.quantity_units, row.quantity_nanos)
    base = {
        "transaction_id": row.transaction_id,
        "subscription_id": row.subscription_id,
        "metric_code": row.metric_code,
        "occurred_at": row.occurred_at,
        "service": service,
        "rate_table_code": table.code,
        "rate_table_version": table.version,
        "currency": table.currency,
        "destination": number[:64],
        "rated_at": now,
    }
    try:
        if service != "data" and not number:
            raise RatingError(f"no {table.destination_property!r} property: send the called number")
        event = rater.rate(service, number, _epoch(row.occurred_at), quantity)
    except RatingError as exc:
        result.unrated += 1
        if len(result.reasons) < MAX_REASONS:
            result.reasons.append(f"event {row.transaction_id}: {exc}")
        return {**base, **_UNRATED, "quantity": quantity, "reason": str(exc)}
    result.rated += 1
    result.zero_value += event.amount_nanos == 0
    return {
        **base,
        "prefix": event.prefix,
        "destination_name": event.destination_name,
        "band": event.band,
        "quantity": event.quantity,
        "billed_quantity": event.billed_quantity,
        "increments": event.increments,
        "unit_price_nanos": event.unit_price_nanos,
        "setup_fee_nanos": event.setup_fee_nanos,
        "amount_nanos": event.amount_nanos,
        "status": "rated",
        "reason": "",
    }


_UNRATED = {
    "prefix": "",
    "destination_name": "",
    "band": "",
    "billed_quantity": 0,
    "increments": "",
    "unit_price_nanos": 0,
    "setup_fee_nanos": 0,
    "amount_nanos": 0,
    "status": "unrated",
}


def _epoch(instant: datetime) -> int:
    return int(instant.timestamp() // 1)


def rated_totals(
    session: Session,
    start_at: datetime,
    end_at: datetime,
    subscription_ids: Collection[str] | None = None,
) -> list[RatedTotal]:
    """Rated events of [start_at, end_at) summed per (subscription, service, destination
    name, band, currency); zero-value events are counted; unrated events are left out."""
    r = rated.c
    keys = (r.subscription_id, r.service, r.destination_name, r.band, r.currency)
    query = (
        select(
            *keys, func.count(), func.sum(r.quantity), func.sum(r.billed_quantity),
            func.sum(r.amount_nanos),
        )
        .where(r.status == "rated", r.occurred_at >= start_at, r.occurred_at < end_at)
        .group_by(*keys)
    )  # fmt: skip
    if subscription_ids is not None:
        query = query.where(r.subscription_id.in_(bindparam("subs", expanding=True)))
    totals: list[RatedTotal] = []
    for params in subscription_chunks(subscription_ids):
        for sub, service, name, band, currency, count, qty, billed, nanos in session.execute(
            query, params
        ):
            totals.append(
                RatedTotal(
                    sub, service, name, band, currency, int(count), int(qty), int(billed),
                    nanos_to_decimal(int(nanos)),
                )
            )  # fmt: skip
    totals.sort(key=lambda t: (t.subscription_id, t.service, t.destination_name, t.band))
    return totals


def unrated_count(
    session: Session,
    start_at: datetime,
    end_at: datetime,
    subscription_ids: Collection[str] | None = None,
) -> int:
    """Events of the period stored as unrated (to report before billing)."""
    r = rated.c
    query = select(func.count()).where(
        r.status == "unrated", r.occurred_at >= start_at, r.occurred_at < end_at
    )
    if subscription_ids is not None:
        query = query.where(r.subscription_id.in_(bindparam("subs", expanding=True)))
    return sum(
        int(session.execute(query, p).scalar_one()) for p in subscription_chunks(subscription_ids)
    )


# --- per-invoice detail export ------------------------------------------------------------------

EXPORT_COLUMNS = (
    "subscription_id", "transaction_id", "occurred_at", "service", "destination", "prefix",
    "destination_name", "band", "quantity", "unit", "billed_quantity", "increments",
    "unit_price", "setup_fee", "amount", "currency", "status", "reason",
)  # fmt: skip
_UNITS = {"voice": "s", "data": "bytes", "sms": "messages"}


class UnknownInvoiceError(LookupError):
    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


def invoice_usage_window(session: Session, invoice_id: str) -> tuple[list[str], datetime, datetime]:
    """The subscriptions of an invoice's customer and its usage period as UTC instants."""
    invoice = session.get(InvoiceRow, invoice_id)
    if invoice is None:
        raise UnknownInvoiceError(
            f"unknown invoice {invoice_id!r}: use the invoice id shown by the bill cycle report"
            " (e.g. inv-<customer>-<period start>)"
        )
    customer = session.get(CustomerRow, invoice.customer_id)
    timezone = customer.timezone if customer is not None else "UTC"
    subs = session.scalars(
        select(SubscriptionRow.id).where(SubscriptionRow.customer_id == invoice.customer_id)
    ).all()
    start_at = local_start_utc(invoice.usage_period_start, timezone)
    end_at = local_start_utc(invoice.usage_period_end, timezone)
    return list(subs), start_at, end_at


def invoice_rated_events(session: Session, invoice_id: str) -> Iterator[tuple[str, ...]]:
    """Every rated (and unrated) event of the invoice's usage period, as CSV fields, streamed
    in (subscription, occurred_at, transaction id) order."""
    subs, start_at, end_at = invoice_usage_window(session, invoice_id)  # raises now if unknown
    return _stream(session, subs, start_at, end_at)


def _stream(
    session: Session, subs: list[str], start_at: datetime, end_at: datetime
) -> Iterator[tuple[str, ...]]:
    r = rated.c
    query = (
        select(rated)
        .where(r.occurred_at >= start_at, r.occurred_at < end_at)
        .where(r.subscription_id.in_(bindparam("subs", expanding=True)))
        .order_by(r.subscription_id, r.occurred_at, r.transaction_id)
        .execution_options(yield_per=CHUNK_SIZE)
    )
    for params in subscription_chunks(subs):
        for row in session.execute(query, params):
            yield _export_fields(row)


def _export_fields(row: Any) -> tuple[str, ...]:
    return (
        row.subscription_id, row.transaction_id, row.occurred_at.isoformat(), row.service,
        row.destination, row.prefix, row.destination_name, row.band, str(row.quantity),
        _UNITS.get(row.service, ""), str(row.billed_quantity), row.increments,
        _decimal_text(row.unit_price_nanos), _decimal_text(row.setup_fee_nanos),
        _decimal_text(row.amount_nanos), row.currency, row.status, row.reason,
    )  # fmt: skip


def _decimal_text(nanos: int) -> str:
    return format(nanos_to_decimal(nanos).normalize() if nanos else Decimal(0), "f")
