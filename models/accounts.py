"""Billing accounts (customers), payment methods and usage events: validated writes.

Usage events are idempotent by transaction id (see `models.usage_ingest`): the same event again
is a duplicate, never counted twice; the same id with other content is a conflict."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy.orm import Session

from billing.money import UnknownCurrencyError, minor_exponent
from models.tables import CustomerRow, LegalEntityRow, PaymentMethodRow
from models.usage_ingest import IngestPolicy, ingest_batch, stored_metric_codes


class AccountError(ValueError):
    """A request that names something unknown or breaks a rule; the message says which."""


class CustomerCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    name: str = Field(min_length=1, max_length=200)
    email: str = Field(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")
    phone: str | None = Field(None, pattern=r"^\+[1-9][0-9]{6,14}$")
    currency: str
    locale: str = "en_US"
    timezone: str = "UTC"
    bill_cycle_day: int = Field(ge=1, le=31)
    legal_entity: str
    gateway: Literal["stripe", "adyen"] | None = None
    payment_token: str | None = None

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        try:
            minor_exponent(value)
        except UnknownCurrencyError as exc:
            raise ValueError(str(exc)) from exc
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA timezone {value!r}") from exc
        return value


def add_customer(session: Session, data: CustomerCreate, now: datetime) -> CustomerRow:
    if session.get(LegalEntityRow, data.legal_entity) is None:
        raise AccountError(f"unknown legal entity {data.legal_entity!r}")
    existing = session.get(CustomerRow, data.id)
    if existing is not None:
        raise AccountError(f"customer {data.id!r} already exists")
    customer = CustomerRow(
        id=data.id,
        name=data.name,
        email=data.email,
        phone=data.phone,
        currency=data.currency,
        locale=data.locale,
        timezone=data.timezone,
        bill_cycle_day=data.bill_cycle_day,
        legal_entity_code=data.legal_entity,
        created_at=now,
    )
    session.add(customer)
    if data.gateway and data.payment_token:
        session.add(
            PaymentMethodRow(
                id=f"pm-{data.id}-1",
                customer_id=data.id,
                gateway=data.gateway,
                token=data.payment_token,
                is_default=True,
                created_at=now,
            )
        )
    session.flush()
    return customer


class UsageEventCreate(BaseModel):
    """One usage event built in Python; `record_usage` sends it through the bulk write path."""

    model_config = ConfigDict(extra="forbid")

    transaction_id: str = Field(min_length=1, max_length=255)
    subscription_id: str
    metric_code: str
    occurred_at: datetime
    quantity: Decimal = Field(Decimal(1), ge=0)
    properties: dict[str, str | int | bool] = Field(default_factory=dict)

    @field_validator("occurred_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("occurred_at needs a timezone (e.g. 2026-12-01T10:00:00Z)")
        return value.astimezone(UTC)

    def as_event(self) -> dict[str, object]:
        """The wire form of the event (the fields of POST /v1/events)."""
        return {
            "transaction_id": self.transaction_id,
            "subscription_id": self.subscription_id,
            "metric": self.metric_code,
            "timestamp": self.occurred_at,
            "quantity": self.quantity,
            "properties": self.properties,
        }


UsageOutcome = Literal["accepted", "duplicate", "conflict"]


def record_usage(
    session: Session,
    event: UsageEventCreate,
    now: datetime,
    *,
    metric_codes: Collection[str] | None = None,
    late_window: timedelta = timedelta(days=3),
    future_tolerance: timedelta = timedelta(seconds=300),
) -> UsageOutcome:
    """Store one event in the caller's transaction, through the same validated, idempotent
    path as the bulk import (`models.usage_ingest`). `metric_codes` defaults to the metrics of
    the catalog versions loaded in the database. A rejected event raises AccountError."""
    session.flush()
    conn = session.connection()
    codes = metric_codes if metric_codes is not None else stored_metric_codes(conn)
    policy = IngestPolicy(frozenset(codes), late_window, future_tolerance)
    result = ingest_batch(conn, [event.as_event()], policy, now)
    if result.errors:
        raise AccountError(result.errors[0].reason)
    if result.conflict:
        return "conflict"
    return "duplicate" if result.duplicate else "accepted"
