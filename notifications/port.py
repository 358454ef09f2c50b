"""The notifier port: what the rest of o2c needs to send a customer notice.

A notice carries a business idempotency key (``dunning:INV-1:step:2:email``, never a random
one). Adapters pass it to the provider so a retried activity delivers the notice once; the
database backs it with a unique constraint on the key (one notice per dunning step).
"""

from __future__ import annotations

from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

Channel = Literal["email", "sms"]

IDEMPOTENCY_HEADER = "X-O2C-Idempotency-Key"
"""Header (HTTP, or e-mail header for SendGrid) that carries ``Notice.idempotency_key``."""

IDEMPOTENCY_CUSTOM_ARG = "o2c_idempotency_key"
"""SendGrid ``custom_args`` name that carries ``Notice.idempotency_key`` (echoed in events)."""


class Notice(BaseModel):
    """One rendered message to one recipient on one channel."""

    model_config = ConfigDict(frozen=True)

    idempotency_key: str = Field(min_length=1, max_length=200)
    channel: Channel
    to: str = Field(min_length=1)
    subject: str | None = None
    text: str
    html: str | None = None
    template: str
    customer_id: str


class SendResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    provider: str
    provider_message_id: str


class NotifierTransientError(Exception):
    """The provider could not be reached or failed on its side (5xx, 429, timeout): retry."""


class NotifierInvalidRequestError(Exception):
    """The provider rejected the notice (4xx): retrying the same request cannot succeed."""


class Notifier(Protocol):
    def send(self, notice: Notice) -> SendResult: ...
