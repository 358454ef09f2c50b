"""The payment gateway port: what the payments activities need from any gateway.

A gateway charges a stored payment method off-session and answers with a value:
``succeeded`` or ``declined`` (a business outcome, never an exception). Faults raise:

- ``GatewayTransientError``: network errors, 5xx, rate limits, outcomes not known yet. The
  activity lets it propagate and Temporal retries with the SAME idempotency key, so the
  provider replays the first result instead of charging again.
- ``GatewayInvalidRequestError``: a request the provider rejects (bad parameters, bad
  credentials, reused idempotency key). Retrying cannot help; the activity turns it into a
  non-retryable ``ApplicationError``.
"""

from __future__ import annotations

from typing import Literal, Protocol, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class ChargeRequest(BaseModel):
    """One charge of a stored payment method for one invoice payment attempt."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    idempotency_key: str = Field(
        min_length=1,
        max_length=255,
        description='Business key, e.g. "invoice:INV-1:attempt:2"; never random',
    )
    amount_minor: int = Field(gt=0, strict=True, description="Amount in the currency's minor unit")
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code, upper case")
    customer_id: str = Field(description="Gateway customer / shopper reference")
    payment_method_token: str = Field(min_length=1, description="Stored payment method token")
    description: str = ""
    invoice_id: str = Field(min_length=1)

    @field_validator("currency", mode="before")
    @classmethod
    def _upper_currency(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value


class ChargeResult(BaseModel):
    """The gateway's answer to a charge: succeeded, or declined with a normalised code."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    status: Literal["succeeded", "declined"]
    gateway: str
    gateway_reference: str | None = None
    decline_code: str | None = None
    message: str = ""

    @model_validator(mode="after")
    def _decline_code_only_on_declines(self) -> Self:
        if self.status == "declined" and not self.decline_code:
            raise ValueError("a declined charge needs a decline_code (e.g. 'generic_decline')")
        if self.status == "succeeded" and self.decline_code is not None:
            raise ValueError("a succeeded charge cannot carry a decline_code")
        return self


class GatewayTransientError(Exception):
    """The outcome is unknown or the gateway is unavailable: retry with the same key."""


class GatewayInvalidRequestError(Exception):
    """The gateway rejected the request itself (parameters, credentials): do not retry."""


class PaymentGateway(Protocol):
    """A payment provider adapter (Stripe, Adyen, ...)."""

    name: str

    def charge(self, request: ChargeRequest) -> ChargeResult:
        """Charge once per ``request.idempotency_key``; declines are returned, faults raise."""
        ...
