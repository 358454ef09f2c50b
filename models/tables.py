"""SQLAlchemy 2 tables. Money is stored as integer minor units; decimal catalog amounts as strings.

Every side effect has a business key backed by a unique constraint here:
invoices (customer, service period), invoice numbers (legal entity, number), usage events
(transaction id), payment attempts (idempotency key; invoice + attempt number), dunning cases
(invoice), notifications (idempotency key).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


class Base(DeclarativeBase):
    pass


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC instants on every backend (SQLite hands back naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime stored; pass a timezone-aware instant")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class LegalEntityRow(Base):
    __tablename__ = "legal_entities"
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    country: Mapped[str] = mapped_column(String(2))
    currency: Mapped[str] = mapped_column(String(3))
    timezone: Mapped[str] = mapped_column(String(64))
    invoice_prefix: Mapped[str] = mapped_column(String(32))
    payment_terms_days: Mapped[int] = mapped_column(Integer)
    dunning_ladder: Mapped[str] = mapped_column(String(64))
    address: Mapped[list[str]] = mapped_column(JSON)
    next_invoice_number: Mapped[int] = mapped_column(BigInteger, default=1)


class CustomerRow(Base):
    __tablename__ = "customers"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(32))
    currency: Mapped[str] = mapped_column(String(3))
    locale: Mapped[str] = mapped_column(String(16))
    timezone: Mapped[str] = mapped_column(String(64))
    bill_cycle_day: Mapped[int] = mapped_column(Integer, index=True)
    legal_entity_code: Mapped[str] = mapped_column(ForeignKey("legal_entities.code"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class PaymentMethodRow(Base):
    __tablename__ = "payment_methods"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    gateway: Mapped[str] = mapped_column(String(16))
    token: Mapped[str] = mapped_column(String(255))
    is_default: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class CatalogVersionRow(Base):
    """A loaded catalog version, snapshotted whole (plans, prices, metrics) as validated JSON."""

    __tablename__ = "catalog_versions"
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    effective_on: Mapped[date] = mapped_column(Date)
    snapshot: Mapped[dict[str, object]] = mapped_column(JSON)
    loaded_at: Mapped[datetime] = mapped_column(UtcDateTime())


class PlanRow(Base):
    __tablename__ = "plans"
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    catalog_version: Mapped[int] = mapped_column(
        ForeignKey("catalog_versions.version"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(200))
    product_code: Mapped[str] = mapped_column(String(64))
    interval: Mapped[str] = mapped_column(String(16))
    trial_days: Mapped[int] = mapped_column(Integer)


class PlanPriceRow(Base):
    """One price of one charge of a plan in one currency (decimal string, 9 places at most)."""

    __tablename__ = "plan_prices"
    plan_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    catalog_version: Mapped[int] = mapped_column(Integer, primary_key=True)
    charge_index: Mapped[int] = mapped_column(Integer, primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    charge_type: Mapped[str] = mapped_column(String(16))
    metric_code: Mapped[str | None] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(String(200))
    unit_amount: Mapped[str] = mapped_column(String(40))


class SubscriptionRow(Base):
    __tablename__ = "subscriptions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    plan_code: Mapped[str] = mapped_column(String(64))
    catalog_version: Mapped[int] = mapped_column(Integer)
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(16), index=True)
    started_on: Mapped[date] = mapped_column(Date)
    trial_end_on: Mapped[date | None] = mapped_column(Date)
    cancelled_on: Mapped[date | None] = mapped_column(Date)
    paused_on: Mapped[date | None] = mapped_column(Date)  # paused since (None: not paused)
    # a change scheduled for the end of the term (change_policy end_of_term)
    pending_plan_code: Mapped[str | None] = mapped_column(String(64))
    pending_catalog_version: Mapped[int | None] = mapped_column(Integer)
    pending_quantity: Mapped[int | None] = mapped_column(Integer)
    pending_change_on: Mapped[date | None] = mapped_column(Date)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class SubscriptionChangeRow(Base):
    """Audit of every lifecycle change; `key` is the caller's business key for the request,
    so a retried activity records (and bills) a change once."""

    __tablename__ = "subscription_changes"
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    subscription_id: Mapped[str] = mapped_column(ForeignKey("subscriptions.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    effective_on: Mapped[date] = mapped_column(Date)
    detail: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime())


class CouponRedemptionRow(Base):
    __tablename__ = "coupon_redemptions"
    __table_args__ = (
        UniqueConstraint("subscription_id", "coupon_code", name="uq_coupon_redemption"),
    )
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    subscription_id: Mapped[str] = mapped_column(ForeignKey("subscriptions.id"), index=True)
    coupon_code: Mapped[str] = mapped_column(String(64))
    catalog_version: Mapped[int] = mapped_column(Integer)
    redeemed_on: Mapped[date] = mapped_column(Date)


class CreditLedgerRow(Base):
    """The account's prepaid-credit wallet as an append-only ledger in minor units: grants
    (purchased or goodwill credit), carry-forwards of invoices whose lines net below zero, and
    the credit each invoice consumed (negative). The balance is the sum; `key` makes every
    entry happen once."""

    __tablename__ = "credit_ledger"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    kind: Mapped[str] = mapped_column(String(16))  # grant | carry_forward | applied
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    description: Mapped[str] = mapped_column(String(300))
    invoice_id: Mapped[str | None] = mapped_column(String(96))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class BillingAdjustmentRow(Base):
    """An already-priced item waiting for the account's next invoice: proration credits and
    charges of mid-period changes, one-time charges, late-usage adjustments. `invoice_id` is
    set in the transaction that stores the invoice, so an item is billed exactly once."""

    __tablename__ = "billing_adjustments"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    subscription_id: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(String(300))
    metric_code: Mapped[str | None] = mapped_column(String(64))
    quantity: Mapped[str] = mapped_column(String(64))  # decimal strings: exact on every backend
    unit_amount: Mapped[str] = mapped_column(String(64))
    amount_precise: Mapped[str] = mapped_column(String(64))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    invoice_id: Mapped[str | None] = mapped_column(String(96), index=True)


class UsageEventRow(Base):
    """One usage event; the quantity is exact: quantity_units + quantity_nanos / 10^9.

    On PostgreSQL the table is partitioned by month of `occurred_at` (migration 0002) and its
    primary key is (id, occurred_at), as a partitioned table requires; transaction ids are
    unique through `usage_event_keys`, written in the same transaction as the event."""

    __tablename__ = "usage_events"
    __table_args__ = (
        # covers the quantity: a period's sums and counts read the index only
        Index(
            "ix_usage_events_period",
            "subscription_id",
            "metric_code",
            "occurred_at",
            "quantity_units",
            "quantity_nanos",
        ),
    )
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    transaction_id: Mapped[str] = mapped_column(String(255))
    customer_id: Mapped[str] = mapped_column(String(64))
    subscription_id: Mapped[str] = mapped_column(String(64))
    metric_code: Mapped[str] = mapped_column(String(64))
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime())
    quantity_units: Mapped[int] = mapped_column(BigInteger)
    quantity_nanos: Mapped[int] = mapped_column(Integer)
    properties: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())

    @property
    def quantity(self) -> Decimal:
        return Decimal(self.quantity_units) + Decimal(self.quantity_nanos).scaleb(-9)


class UsageEventKeyRow(Base):
    """The dedup key of a usage event: its transaction id and a digest of its content."""

    __tablename__ = "usage_event_keys"
    __table_args__ = {"sqlite_with_rowid": False}
    transaction_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    content_hash: Mapped[int] = mapped_column(BigInteger)


class UsageEventBatchRow(Base):
    """The ingest journal: one row per accepted batch whose events are not in `usage_events`
    yet. Ingest appends here (with the batch's dedup keys, in one transaction); settling
    (`models/usage_settle.py`) moves the events into `usage_events` in period-index order and
    deletes the row, before any usage is read."""

    __tablename__ = "usage_event_batches"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())
    event_count: Mapped[int] = mapped_column(Integer)
    # orjson {"columns": [transaction_id[], customer_id[], subscription_id[], metric_code[],
    #  occurred_at[] (canonical UTC text), quantity_units[], quantity_nanos[], properties[]]}
    events: Mapped[bytes] = mapped_column(LargeBinary)


class InvoiceRow(Base):
    __tablename__ = "invoices"
    __table_args__ = (
        UniqueConstraint("customer_id", "period_start", "period_end", name="uq_invoice_period"),
        UniqueConstraint("legal_entity_code", "number", name="uq_invoice_number"),
    )
    id: Mapped[str] = mapped_column(String(96), primary_key=True)
    number: Mapped[str] = mapped_column(String(64))
    sequence_no: Mapped[int] = mapped_column(BigInteger)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    legal_entity_code: Mapped[str] = mapped_column(ForeignKey("legal_entities.code"))
    currency: Mapped[str] = mapped_column(String(3))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    usage_period_start: Mapped[date] = mapped_column(Date)
    usage_period_end: Mapped[date] = mapped_column(Date)
    subtotal_minor: Mapped[int] = mapped_column(BigInteger)
    tax_minor: Mapped[int] = mapped_column(BigInteger)
    total_minor: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), index=True)
    issued_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date)
    bill_cycle_key: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    paid_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class InvoiceLineRow(Base):
    __tablename__ = "invoice_lines"
    __table_args__ = (UniqueConstraint("invoice_id", "line_no", name="uq_invoice_line"),)
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoices.id"), index=True)
    line_no: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(String(300))
    subscription_id: Mapped[str] = mapped_column(String(64))
    metric_code: Mapped[str | None] = mapped_column(String(64))
    quantity: Mapped[str] = mapped_column(String(48))
    unit_amount: Mapped[str] = mapped_column(String(48))
    amount_precise: Mapped[str] = mapped_column(String(48))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)


class PaymentAttemptRow(Base):
    __tablename__ = "payment_attempts"
    __table_args__ = (UniqueConstraint("invoice_id", "attempt_no", name="uq_payment_attempt"),)
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoices.id"), index=True)
    attempt_no: Mapped[int] = mapped_column(Integer)
    idempotency_key: Mapped[str] = mapped_column(String(255), unique=True)
    gateway: Mapped[str] = mapped_column(String(16))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16))
    gateway_reference: Mapped[str | None] = mapped_column(String(255))
    decline_code: Mapped[str | None] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class DunningCaseRow(Base):
    __tablename__ = "dunning_cases"
    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoices.id"), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(64), index=True)
    ladder_code: Mapped[str] = mapped_column(String(64))
    ladder_version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    current_step: Mapped[int] = mapped_column(Integer, default=-1)
    current_step_name: Mapped[str | None] = mapped_column(String(64))
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class DunningStepRunRow(Base):
    """One executed ladder step; unique per (case, step) so a retried activity records once."""

    __tablename__ = "dunning_step_runs"
    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoices.id"), primary_key=True)
    step_index: Mapped[int] = mapped_column(Integer, primary_key=True)
    step_name: Mapped[str] = mapped_column(String(64))
    actions: Mapped[list[str]] = mapped_column(JSON)
    outcome: Mapped[str] = mapped_column(String(32))
    executed_at: Mapped[datetime] = mapped_column(UtcDateTime())


class NotificationRow(Base):
    __tablename__ = "notifications"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(255), unique=True)
    customer_id: Mapped[str] = mapped_column(String(64), index=True)
    channel: Mapped[str] = mapped_column(String(8))
    template: Mapped[str] = mapped_column(String(64))
    to_address: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str | None] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    provider: Mapped[str | None] = mapped_column(String(32))
    provider_message_id: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class BillCycleRunRow(Base):
    """Per-account outcome of a bill cycle: parked accounts are reported, not silently skipped."""

    __tablename__ = "bill_cycle_accounts"
    bill_cycle_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    outcome: Mapped[str] = mapped_column(String(16))
    invoice_id: Mapped[str | None] = mapped_column(String(96))
    detail: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class RatedEventRow(Base):
    """A usage event rated against a telco rate table (or marked unrated, with the reason).
    Unique per usage event transaction id: rating a period twice adds nothing. Money is in
    nano-units (1e-9 of the currency unit), exact to 9 places."""

    __tablename__ = "rated_events"
    __table_args__ = (Index("ix_rated_events_period", "subscription_id", "occurred_at"),)
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    transaction_id: Mapped[str] = mapped_column(String(255), unique=True)
    subscription_id: Mapped[str] = mapped_column(String(64))
    metric_code: Mapped[str] = mapped_column(String(64))
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime())
    service: Mapped[str] = mapped_column(String(8))  # voice | data | sms
    rate_table_code: Mapped[str] = mapped_column(String(64))
    rate_table_version: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    destination: Mapped[str] = mapped_column(String(64))  # the number called ('' for data)
    prefix: Mapped[str] = mapped_column(String(16))
    destination_name: Mapped[str] = mapped_column(String(200))
    band: Mapped[str] = mapped_column(String(64))
    quantity: Mapped[int] = mapped_column(BigInteger)  # seconds, bytes or messages
    billed_quantity: Mapped[int] = mapped_column(BigInteger)  # after charging increments
    increments: Mapped[str] = mapped_column(String(16))
    unit_price_nanos: Mapped[int] = mapped_column(BigInteger)  # per minute, MB or message
    setup_fee_nanos: Mapped[int] = mapped_column(BigInteger)
    amount_nanos: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(8))  # rated | unrated
    reason: Mapped[str] = mapped_column(Text, default="")
    rated_at: Mapped[datetime] = mapped_column(UtcDateTime())
