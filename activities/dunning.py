"""Dunning case bookkeeping and the ladder's account actions (suspend, cancel, write off)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session
from temporalio import activity

from activities.deps import Deps, invalid, local_date
from models.config import DunningLadderConfig
from models.contracts import (
    CloseDunningCaseInput,
    DunningActionInput,
    DunningActionResult,
    DunningStepInput,
    OpenDunningCaseInput,
)
from models.tables import (
    CustomerRow,
    DunningCaseRow,
    DunningStepRunRow,
    InvoiceRow,
    SubscriptionRow,
)

_SUSPENDABLE = ("active", "trialing")


class DunningActivities:
    def __init__(self, deps: Deps) -> None:
        self._deps = deps

    @activity.defn(name="open_dunning_case")
    def open_dunning_case(self, data: OpenDunningCaseInput) -> None:
        with self._deps.db.transaction() as session:
            invoice = _invoice(session, data.invoice_id)
            if session.get(DunningCaseRow, data.invoice_id) is not None:
                return
            session.add(
                DunningCaseRow(
                    invoice_id=invoice.id,
                    customer_id=invoice.customer_id,
                    ladder_code=data.ladder_code,
                    ladder_version=data.ladder_version,
                    status="open",
                    current_step=-1,
                    opened_at=data.as_of,
                )
            )

    @activity.defn(name="start_dunning_step")
    def start_dunning_step(self, data: DunningStepInput) -> None:
        with self._deps.db.transaction() as session:
            case = _case(session, data.invoice_id)
            case.current_step = data.step_index
            case.current_step_name = data.step_name
            if session.get(DunningStepRunRow, (data.invoice_id, data.step_index)) is None:
                session.add(
                    DunningStepRunRow(
                        invoice_id=data.invoice_id,
                        step_index=data.step_index,
                        step_name=data.step_name,
                        actions=[],
                        outcome="started",
                        executed_at=data.as_of,
                    )
                )

    @activity.defn(name="apply_dunning_action")
    def apply_dunning_action(self, data: DunningActionInput) -> DunningActionResult:
        with self._deps.db.transaction() as session:
            invoice = _invoice(session, data.invoice_id)
            run = session.scalar(
                select(DunningStepRunRow)
                .where(DunningStepRunRow.invoice_id == invoice.id)
                .order_by(DunningStepRunRow.step_index.desc())
                .limit(1)
            )
            if run is not None and data.action not in run.actions:
                run.actions = [*run.actions, data.action]
            if data.action == "write_off":
                if invoice.status == "open":
                    invoice.status = "uncollectible"
                return DunningActionResult(subscription_ids=[])
            return DunningActionResult(
                subscription_ids=_change_subscriptions(session, invoice, data)
            )

    @activity.defn(name="close_dunning_case")
    def close_dunning_case(self, data: CloseDunningCaseInput) -> None:
        with self._deps.db.transaction() as session:
            case = _case(session, data.invoice_id)
            if case.closed_at is None:
                case.status = data.status
                case.closed_at = data.as_of


def _change_subscriptions(
    session: Session, invoice: InvoiceRow, data: DunningActionInput
) -> list[str]:
    customer = session.get(CustomerRow, invoice.customer_id)
    assert customer is not None
    subs = session.scalars(
        select(SubscriptionRow)
        .where(SubscriptionRow.customer_id == invoice.customer_id)
        .order_by(SubscriptionRow.id)
    ).all()
    changed: list[str] = []
    for sub in subs:
        new_status = _target_status(sub.status, data.action)
        if new_status is None:
            continue
        sub.status = new_status
        sub.updated_at = data.as_of
        if new_status == "cancelled":
            sub.cancelled_on = local_date(data.as_of, customer.timezone)
        changed.append(sub.id)
    return changed


def _target_status(current: str, action: str) -> str | None:
    if action == "suspend_subscriptions" and current in _SUSPENDABLE:
        return "suspended"
    if action == "cancel_subscriptions" and current != "cancelled":
        return "cancelled"
    if action == "reactivate" and current == "suspended":
        return "active"
    return None


def _invoice(session: Session, invoice_id: str) -> InvoiceRow:
    invoice = session.get(InvoiceRow, invoice_id)
    if invoice is None:
        raise invalid(f"unknown invoice {invoice_id!r}", "UnknownInvoice")
    return invoice


def _case(session: Session, invoice_id: str) -> DunningCaseRow:
    case = session.get(DunningCaseRow, invoice_id)
    if case is None:
        raise invalid(f"no dunning case for invoice {invoice_id!r}", "UnknownDunningCase")
    return case


class ConfigActivities:
    """Hands workflows the validated config snapshot they need, as input for determinism."""

    def __init__(self, deps: Deps) -> None:
        self._deps = deps

    @activity.defn(name="dunning_ladder_for_entity")
    def dunning_ladder_for_entity(self, legal_entity: str) -> DunningLadderConfig:
        config = self._deps.config
        return config.ladder(config.entity(legal_entity).dunning_ladder)
