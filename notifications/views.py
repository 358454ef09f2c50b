"""Read models the templates render (built by activities from the invoice and its account)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field


class InvoiceLineView(BaseModel):
    model_config = ConfigDict(frozen=True)

    description: str
    quantity: str  # decimal string, e.g. "1" or "12500.5"
    unit_amount: str  # decimal string in major units, up to 9 places, e.g. "0.0015"
    amount_minor: int
    period_start: date  # half-open [period_start, period_end)
    period_end: date


class InvoiceView(BaseModel):
    model_config = ConfigDict(frozen=True)

    invoice_id: str
    number: str
    issued_on: date
    due_on: date
    period_start: date  # half-open [period_start, period_end)
    period_end: date
    currency: str
    customer_name: str
    customer_email: str
    legal_entity_name: str
    legal_entity_address: list[str]
    lines: list[InvoiceLineView]
    subtotal_minor: int
    tax_minor: int
    total_minor: int
    status: str  # draft | open | paid | void | uncollectible | written_off
    legal_mentions: list[str] = Field(
        default_factory=list,
        description="Footer lines the legal entity must print (tax ids, late-payment terms)",
    )
