"""What each notice template needs: one pydantic model per template, checked before rendering.

``render_notice`` validates the caller's dict against these models, so a missing or misspelt
field fails with pydantic's message naming it, instead of a half-rendered e-mail.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from notifications.port import Channel
from notifications.views import InvoiceView


class _NoticeContext(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    customer_name: str
    portal_url: str | None = None  # "pay / manage billing" link, omitted when None


class _AmountContext(_NoticeContext):
    invoice_number: str
    amount_minor: int
    currency: str


class InvoiceIssuedContext(_NoticeContext):
    invoice: InvoiceView


class PaymentSucceededContext(_AmountContext):
    paid_on: date


class PaymentFailedContext(_AmountContext):
    decline_reason: str


class DunningReminderContext(_AmountContext):
    step_name: str  # the ladder step, for traceability; not shown to the customer
    days_overdue: int = Field(ge=0)
    decline_reason: str | None = None


class DunningSuspendedContext(_AmountContext):
    days_overdue: int = Field(ge=0)


class DunningFinalNoticeContext(_AmountContext):
    days_overdue: int = Field(ge=0)
    subscriptions_cancelled: bool = True
    invoice_written_off: bool = True


@dataclass(frozen=True)
class NoticeTemplate:
    context: type[_NoticeContext]
    channels: tuple[Channel, ...]


NOTICE_TEMPLATES: dict[str, NoticeTemplate] = {
    "invoice_issued": NoticeTemplate(InvoiceIssuedContext, ("email",)),
    "payment_succeeded": NoticeTemplate(PaymentSucceededContext, ("email",)),
    "payment_failed": NoticeTemplate(PaymentFailedContext, ("email", "sms")),
    "dunning_reminder": NoticeTemplate(DunningReminderContext, ("email", "sms")),
    "dunning_suspended": NoticeTemplate(DunningSuspendedContext, ("email", "sms")),
    "dunning_final_notice": NoticeTemplate(DunningFinalNoticeContext, ("email", "sms")),
}
