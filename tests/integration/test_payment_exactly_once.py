"""charge_invoice against the Stripe and Adyen stand-ins: a dropped response is retried with the
same idempotency key and charges once; declines are values; a recorded outcome is never sent
to the gateway again."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select
from temporalio.testing import ActivityEnvironment

from activities.bill_cycle import BillCycleActivities
from activities.deps import Deps
from activities.payments import charge_invoice
from activities.subscriptions import SubscriptionActivities
from models.contracts import InvoiceBatchInput, PaymentOutcome
from models.tables import InvoiceRow, PaymentAttemptRow
from payments.port import GatewayTransientError
from payments.standins import PaymentStandIns
from tests.factories import make_customer, make_subscription

pytestmark = pytest.mark.db

CYCLE_ON = date(2026, 12, 1)
AS_OF = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
LATER = datetime(2026, 12, 1, 12, 5, tzinfo=UTC)
GATEWAYS = ["stripe", "adyen"]


def issue_invoice(deps: Deps, customer_id: str, token: str, gateway: str) -> str:
    """One open USD 199.00 invoice for a fresh growth-monthly account."""
    make_customer(deps.db, customer_id, token=token, gateway=gateway)
    make_subscription(SubscriptionActivities(deps), f"{customer_id}-s", customer_id)
    result = ActivityEnvironment().run(
        BillCycleActivities(deps).invoice_batch,
        InvoiceBatchInput(
            bill_cycle_key="bill-cycle-01-2026-12",
            cycle_on=CYCLE_ON,
            customer_ids=[customer_id],
            as_of=AS_OF,
        ),
    )
    [invoice_id] = result.invoice_ids
    return invoice_id


def requests_for(standins: PaymentStandIns, gateway: str, invoice_id: str) -> list[str | None]:
    """The Idempotency-Key header of every request the gateway got for this invoice."""
    standin = standins.stripe if gateway == "stripe" else standins.adyen
    prefix = f"invoice:{invoice_id}:"
    return [
        r.header("Idempotency-Key")
        for r in standin.requests
        if (r.header("Idempotency-Key") or "").startswith(prefix)
    ]


def charges_for(standins: PaymentStandIns, gateway: str, invoice_id: str) -> list[tuple]:
    standin = standins.stripe if gateway == "stripe" else standins.adyen
    return [
        (c.idempotency_key, c.amount_minor, c.succeeded, c.decline_code)
        for c in standin.charges
        if c.invoice_id == invoice_id
    ]


def attempts(deps: Deps, invoice_id: str) -> list[tuple]:
    with deps.db.transaction() as session:
        rows = session.scalars(
            select(PaymentAttemptRow)
            .where(PaymentAttemptRow.invoice_id == invoice_id)
            .order_by(PaymentAttemptRow.attempt_no)
        ).all()
        return [
            (r.attempt_no, r.idempotency_key, r.gateway, r.amount_minor, r.status, r.decline_code)
            for r in rows
        ]


def brief(outcome: PaymentOutcome) -> tuple[str, int, str, str | None]:
    return outcome.invoice_id, outcome.attempt_no, outcome.status, outcome.decline_code


def invoice_state(deps: Deps, invoice_id: str) -> tuple[str, datetime | None]:
    with deps.db.transaction() as session:
        invoice = session.get(InvoiceRow, invoice_id)
        assert invoice is not None
        return invoice.status, invoice.paid_at


@pytest.mark.parametrize("gateway", GATEWAYS)
def test_dropped_response_is_retried_with_the_same_key_and_charges_once(
    deps: Deps, standins: PaymentStandIns, uid: str, gateway: str
) -> None:
    invoice_id = issue_invoice(deps, f"{uid}-net", "pm_card_network_error", gateway)
    key = f"invoice:{invoice_id}:attempt:1"

    with pytest.raises(GatewayTransientError):
        charge_invoice(deps, invoice_id, 1, AS_OF)

    # the gateway executed the charge, we only lost the answer
    assert charges_for(standins, gateway, invoice_id) == [(key, 19900, True, None)]
    assert attempts(deps, invoice_id) == [(1, key, gateway, 19900, "pending", None)]
    assert invoice_state(deps, invoice_id) == ("open", None)

    # Temporal's retry: same attempt number, same key, the gateway replays its success
    outcome = charge_invoice(deps, invoice_id, 1, LATER)

    assert brief(outcome) == (invoice_id, 1, "succeeded", None)
    assert invoice_state(deps, invoice_id) == ("paid", LATER)
    assert attempts(deps, invoice_id) == [(1, key, gateway, 19900, "succeeded", None)]
    assert charges_for(standins, gateway, invoice_id) == [(key, 19900, True, None)]
    assert requests_for(standins, gateway, invoice_id) == [key, key]

    # a third call for the succeeded attempt answers from the database
    again = charge_invoice(deps, invoice_id, 1, LATER)
    assert again.status == "succeeded"
    assert requests_for(standins, gateway, invoice_id) == [key, key]
    assert len(charges_for(standins, gateway, invoice_id)) == 1


@pytest.mark.parametrize("gateway", GATEWAYS)
@pytest.mark.parametrize(
    ("token", "decline_code"),
    [
        ("pm_card_chargeDeclined", "generic_decline"),
        ("pm_card_chargeDeclinedInsufficientFunds", "insufficient_funds"),
    ],
)
def test_decline_is_a_value_and_the_invoice_stays_open(
    deps: Deps, standins: PaymentStandIns, uid: str, gateway: str, token: str, decline_code: str
) -> None:
    invoice_id = issue_invoice(deps, f"{uid}-dec", token, gateway)
    key = f"invoice:{invoice_id}:attempt:1"

    outcome = charge_invoice(deps, invoice_id, 1, AS_OF)

    assert outcome.status == "declined"
    assert outcome.decline_code == decline_code
    assert invoice_state(deps, invoice_id) == ("open", None)
    assert attempts(deps, invoice_id) == [(1, key, gateway, 19900, "declined", decline_code)]
    assert charges_for(standins, gateway, invoice_id) == [(key, 19900, False, decline_code)]

    # a retried activity for the declined attempt does not ask the gateway again
    assert charge_invoice(deps, invoice_id, 1, LATER) == outcome
    assert requests_for(standins, gateway, invoice_id) == [key]


@pytest.mark.parametrize("gateway", GATEWAYS)
def test_second_attempt_after_a_decline_succeeds_with_its_own_key(
    deps: Deps, standins: PaymentStandIns, uid: str, gateway: str
) -> None:
    invoice_id = issue_invoice(deps, f"{uid}-fts", "pm_card_fail_then_succeed", gateway)
    key_1, key_2 = f"invoice:{invoice_id}:attempt:1", f"invoice:{invoice_id}:attempt:2"

    first = charge_invoice(deps, invoice_id, 1, AS_OF)
    assert (first.status, first.decline_code) == ("declined", "generic_decline")
    assert invoice_state(deps, invoice_id) == ("open", None)

    second = charge_invoice(deps, invoice_id, 2, LATER)

    assert brief(second) == (invoice_id, 2, "succeeded", None)
    assert invoice_state(deps, invoice_id) == ("paid", LATER)
    assert attempts(deps, invoice_id) == [
        (1, key_1, gateway, 19900, "declined", "generic_decline"),
        (2, key_2, gateway, 19900, "succeeded", None),
    ]
    assert charges_for(standins, gateway, invoice_id) == [
        (key_1, 19900, False, "generic_decline"),
        (key_2, 19900, True, None),
    ]
    assert requests_for(standins, gateway, invoice_id) == [key_1, key_2]

    # both recorded attempts answer from the database; a later attempt sees the paid invoice
    assert charge_invoice(deps, invoice_id, 2, LATER).status == "succeeded"
    assert charge_invoice(deps, invoice_id, 1, LATER).status == "declined"
    third = charge_invoice(deps, invoice_id, 3, LATER)
    assert third == PaymentOutcome(invoice_id=invoice_id, attempt_no=3, status="already_paid")
    assert requests_for(standins, gateway, invoice_id) == [key_1, key_2]
    assert len(attempts(deps, invoice_id)) == 2
