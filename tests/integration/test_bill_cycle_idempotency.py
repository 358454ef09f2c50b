"""Bill-cycle batches against a real database and the payment stand-ins: exact invoices, gapless
numbers, one payment attempt per invoice, and a second run of the same batches that changes
nothing. Failing accounts are parked; due accounts follow timezones and month ends."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select
from temporalio.testing import ActivityEnvironment

from activities.bill_cycle import BillCycleActivities
from activities.deps import Deps
from activities.subscriptions import SubscriptionActivities
from models.accounts import UsageEventCreate, record_usage
from models.contracts import (
    BillCycleTotals,
    CollectBatchInput,
    DueAccountsInput,
    InvoiceBatchInput,
)
from models.db import Database
from models.tables import (
    BillCycleRunRow,
    InvoiceLineRow,
    InvoiceRow,
    LegalEntityRow,
    NotificationRow,
    PaymentAttemptRow,
    SubscriptionRow,
)
from payments.standins import PaymentStandIns
from tests.factories import make_customer, make_subscription

pytestmark = pytest.mark.db

CYCLE_ON = date(2026, 12, 1)
AS_OF = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
KEY = "bill-cycle-01-2026-12"
USD_CENTS = Decimal("0.01")


# --- helpers -----------------------------------------------------------------------------------


def usage(db: Database, sub_id: str, tx: str, metric: str, qty: str, at: datetime) -> None:
    event = UsageEventCreate(
        transaction_id=tx, subscription_id=sub_id, metric_code=metric, occurred_at=at,
        quantity=Decimal(qty),
    )  # fmt: skip
    received_at = at  # events arrive as they happen
    with db.transaction() as session:
        assert record_usage(session, event, received_at) == "accepted"


def minor(amount: Decimal) -> int:
    """Hand-rounded USD minor units (half up), independent of billing.money."""
    return int((amount / USD_CENTS).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def run_cycle(
    env: ActivityEnvironment, acts: BillCycleActivities, cycle_on: date = CYCLE_ON
) -> tuple[list[str], BillCycleTotals, BillCycleTotals]:
    due = acts.find_due_accounts(
        DueAccountsInput(cycle_on=cycle_on, as_of=AS_OF, after_customer_id=None, limit=100)
    )
    assert due.next_cursor is None
    invoiced = env.run(
        acts.invoice_batch,
        InvoiceBatchInput(
            bill_cycle_key=KEY, cycle_on=cycle_on, customer_ids=due.customer_ids, as_of=AS_OF
        ),
    )
    collected = env.run(
        acts.collect_batch, CollectBatchInput(invoice_ids=invoiced.invoice_ids, as_of=AS_OF)
    )
    return due.customer_ids, invoiced.totals, collected.totals


@dataclass(frozen=True)
class SideEffects:
    invoices: list[tuple[str, str, int, str]]
    lines: int
    attempts: list[tuple[str, str, str]]
    notifications: list[tuple[str, str]]
    runs: list[tuple[str, str, str | None]]
    next_number: int
    stripe_charges: int
    adyen_charges: int
    gateway_requests: int
    outbox_files: list[str]


def side_effects(deps: Deps, standins: PaymentStandIns, outbox: Path, ids: set[str]) -> SideEffects:
    with deps.db.transaction() as session:
        invoices = [
            (r.id, r.number, r.total_minor, r.status)
            for r in session.scalars(select(InvoiceRow).order_by(InvoiceRow.sequence_no))
        ]
        lines = session.scalar(select(func.count()).select_from(InvoiceLineRow))
        attempts = [
            (a.invoice_id, a.idempotency_key, a.status)
            for a in session.scalars(select(PaymentAttemptRow).order_by(PaymentAttemptRow.id))
        ]
        notifications = [
            (n.idempotency_key, n.status)
            for n in session.scalars(select(NotificationRow).order_by(NotificationRow.id))
        ]
        runs = [
            (r.customer_id, r.outcome, r.invoice_id)
            for r in session.scalars(select(BillCycleRunRow).order_by(BillCycleRunRow.customer_id))
        ]
        entity = session.get(LegalEntityRow, "o2c-us")
        assert entity is not None
        next_number = entity.next_invoice_number
    ours = [r for r in [*standins.stripe.requests, *standins.adyen.requests] if _mine(r, ids)]
    return SideEffects(
        invoices=invoices,
        lines=int(lines or 0),
        attempts=attempts,
        notifications=notifications,
        runs=runs,
        next_number=next_number,
        stripe_charges=sum(c.invoice_id in ids for c in standins.stripe.charges),
        adyen_charges=sum(c.invoice_id in ids for c in standins.adyen.charges),
        gateway_requests=len(ours),
        outbox_files=sorted(str(p.relative_to(outbox)) for p in outbox.rglob("*") if p.is_file()),
    )


def _mine(request: object, ids: set[str]) -> bool:
    key = getattr(request, "idempotency_key", None) or ""
    return any(key.startswith(f"invoice:{invoice_id}:") for invoice_id in ids)


# --- a whole cycle, twice ----------------------------------------------------------------------


@pytest.fixture
def two_accounts(deps: Deps, uid: str) -> tuple[str, str]:
    """Two New York accounts on growth-monthly (one per gateway) with November usage."""
    first, second = f"{uid}-a", f"{uid}-b"
    make_customer(deps.db, first, token="pm_card_visa", gateway="stripe")
    make_customer(deps.db, second, token="pm_card_visa", gateway="adyen")
    subs = SubscriptionActivities(deps)
    make_subscription(subs, f"{first}-s", first)
    make_subscription(subs, f"{second}-s", second)
    db = deps.db
    # usage period [2026-11-01, 2026-12-01) in America/New_York:
    # [2026-11-01T04:00Z (EDT), 2026-12-01T05:00Z (EST))
    usage(
        db, f"{first}-s", f"{uid}-1", "api_calls", "12345", datetime(2026, 11, 10, 10, tzinfo=UTC)
    )
    usage(
        db,
        f"{first}-s",
        f"{uid}-2",
        "api_calls",
        "1000",
        datetime(2026, 12, 1, 4, 59, 59, tzinfo=UTC),
    )
    usage(db, f"{first}-s", f"{uid}-3", "api_calls", "7", datetime(2026, 12, 1, 5, tzinfo=UTC))
    usage(
        db,
        f"{first}-s",
        f"{uid}-4",
        "api_calls",
        "999",
        datetime(2026, 11, 1, 3, 59, 59, tzinfo=UTC),
    )
    usage(db, f"{first}-s", f"{uid}-5", "api_calls", "1", datetime(2026, 11, 1, 4, tzinfo=UTC))
    usage(db, f"{first}-s", f"{uid}-6", "storage_gb", "12.5", datetime(2026, 11, 15, tzinfo=UTC))
    usage(db, f"{second}-s", f"{uid}-7", "api_calls", "5003", datetime(2026, 11, 20, tzinfo=UTC))
    return first, second  # fmt: skip


def test_bill_cycle_invoices_exactly_and_a_rerun_changes_nothing(
    deps: Deps,
    standins: PaymentStandIns,
    two_accounts: tuple[str, str],
    activity_env: ActivityEnvironment,
) -> None:
    first, second = two_accounts
    acts = BillCycleActivities(deps)
    outbox = deps.notifier.directory  # type: ignore[attr-defined]
    inv_a, inv_b = f"inv-{first}-2026-12-01", f"inv-{second}-2026-12-01"

    due, invoiced, collected = run_cycle(activity_env, acts)

    # by hand: 199.00 flat; api_calls 12345 + 1000 + 1 (the 7 and the 999 are outside the
    # local period) at 0.0015 = 20.019 -> 20.02; storage 12.5 GB at 0.20 = 2.50
    api_a = Decimal(13346) * Decimal("0.0015")
    assert api_a == Decimal("20.0190")
    total_a = 19900 + minor(api_a) + minor(Decimal("12.5") * Decimal("0.20"))
    assert total_a == 19900 + 2002 + 250 == 22152
    # second account: 5003 calls x 0.0015 = 7.5045 -> 7.50 (rounded once, half up)
    total_b = 19900 + minor(Decimal(5003) * Decimal("0.0015"))
    assert total_b == 20650

    assert due == [first, second]
    assert invoiced == BillCycleTotals(
        accounts_seen=2, invoices=2, invoices_created=2,
        amount_invoiced_minor_by_currency={"USD": total_a + total_b},
    )  # fmt: skip
    assert collected == BillCycleTotals(payments_succeeded=2)

    with deps.db.transaction() as session:
        a = session.get(InvoiceRow, inv_a)
        b = session.get(InvoiceRow, inv_b)
        assert a is not None and b is not None
        assert (a.number, a.sequence_no, a.legal_entity_code, a.currency) == (
            "US-000001", 1, "o2c-us", "USD"
        )  # fmt: skip
        assert (b.number, b.sequence_no) == ("US-000002", 2)
        assert (a.subtotal_minor, a.tax_minor, a.total_minor) == (total_a, 0, total_a)
        assert (b.subtotal_minor, b.tax_minor, b.total_minor) == (total_b, 0, total_b)
        assert (a.period_start, a.period_end) == (date(2026, 12, 1), date(2027, 1, 1))
        assert (a.usage_period_start, a.usage_period_end) == (date(2026, 11, 1), date(2026, 12, 1))
        assert (a.issued_on, a.due_on) == (date(2026, 12, 1), date(2026, 12, 15))
        assert (a.status, a.paid_at, a.bill_cycle_key) == ("paid", AS_OF, KEY)
        assert (b.status, b.paid_at) == ("paid", AS_OF)
        lines_a = session.scalars(
            select(InvoiceLineRow)
            .where(InvoiceLineRow.invoice_id == inv_a)
            .order_by(InvoiceLineRow.line_no)
        ).all()
        assert [
            (
                ln.line_no, ln.kind, ln.description, ln.subscription_id, ln.metric_code,
                Decimal(ln.quantity), ln.unit_amount, Decimal(ln.amount_precise), ln.amount_minor,
                ln.period_start, ln.period_end,
            )
            for ln in lines_a
        ] == [
            (1, "recurring", "Platform fee", f"{first}-s", None, Decimal(1), "199.00",
             Decimal("199"), 19900, date(2026, 12, 1), date(2027, 1, 1)),
            (2, "usage", "API calls", f"{first}-s", "api_calls", Decimal(13346), "0.0015",
             Decimal("20.019"), 2002, date(2026, 11, 1), date(2026, 12, 1)),
            (3, "usage", "Storage", f"{first}-s", "storage_gb", Decimal("12.5"), "0.20",
             Decimal("2.5"), 250, date(2026, 11, 1), date(2026, 12, 1)),
        ]  # fmt: skip
        assert sum(ln.amount_minor for ln in lines_a) == a.total_minor
        lines_b = session.scalars(
            select(InvoiceLineRow)
            .where(InvoiceLineRow.invoice_id == inv_b)
            .order_by(InvoiceLineRow.line_no)
        ).all()
        assert [(ln.kind, ln.metric_code, ln.amount_minor) for ln in lines_b] == [
            ("recurring", None, 19900),
            ("usage", "api_calls", 750),
        ]
        attempts = session.scalars(
            select(PaymentAttemptRow).order_by(PaymentAttemptRow.invoice_id)
        ).all()
        assert [
            (p.invoice_id, p.attempt_no, p.idempotency_key, p.gateway, p.amount_minor,
             p.currency, p.status, p.decline_code)
            for p in attempts
        ] == [
            (inv_a, 1, f"invoice:{inv_a}:attempt:1", "stripe", total_a, "USD", "succeeded", None),
            (inv_b, 1, f"invoice:{inv_b}:attempt:1", "adyen", total_b, "USD", "succeeded", None),
        ]  # fmt: skip
        assert all(p.gateway_reference for p in attempts)

    first_run = side_effects(deps, standins, outbox, {inv_a, inv_b})
    assert first_run.invoices == [
        (inv_a, "US-000001", total_a, "paid"),
        (inv_b, "US-000002", total_b, "paid"),
    ]
    assert first_run.lines == 5
    assert first_run.notifications == [
        (f"invoice:{inv_a}:issued:email", "sent"),
        (f"invoice:{inv_b}:issued:email", "sent"),
    ]
    assert first_run.runs == [(first, "invoiced", inv_a), (second, "invoiced", inv_b)]
    assert first_run.next_number == 3
    assert (first_run.stripe_charges, first_run.adyen_charges) == (1, 1)
    assert first_run.gateway_requests == 2
    assert len([f for f in first_run.outbox_files if f.endswith(".json")]) == 2
    stripe_charge = next(c for c in standins.stripe.charges if c.invoice_id == inv_a)
    assert (stripe_charge.amount_minor, stripe_charge.currency.upper()) == (total_a, "USD")
    assert stripe_charge.idempotency_key == f"invoice:{inv_a}:attempt:1"
    adyen_charge = next(c for c in standins.adyen.charges if c.invoice_id == inv_b)
    assert (adyen_charge.amount_minor, adyen_charge.idempotency_key) == (
        total_b, f"invoice:{inv_b}:attempt:1"
    )  # fmt: skip

    # the same batches again (a retried activity, a re-run workflow): nothing new anywhere
    due_again, invoiced_again, _ = run_cycle(activity_env, acts)

    assert due_again == [first, second]
    assert invoiced_again.invoices == 2
    assert invoiced_again.invoices_created == 0
    assert invoiced_again.amount_invoiced_minor_by_currency == {"USD": total_a + total_b}
    assert side_effects(deps, standins, outbox, {inv_a, inv_b}) == first_run


def test_rerun_of_invoice_batch_alone_returns_the_existing_invoices(
    deps: Deps,
    standins: PaymentStandIns,
    two_accounts: tuple[str, str],
    activity_env: ActivityEnvironment,
) -> None:
    """A retried invoice_batch before collection hands the same ids to collect_batch, which
    then charges each invoice once."""
    first, second = two_accounts
    acts = BillCycleActivities(deps)
    data = InvoiceBatchInput(
        bill_cycle_key=KEY, cycle_on=CYCLE_ON, customer_ids=[first, second], as_of=AS_OF
    )
    once = activity_env.run(acts.invoice_batch, data)
    twice = activity_env.run(acts.invoice_batch, data)
    assert (
        once.invoice_ids
        == twice.invoice_ids
        == [
            f"inv-{first}-2026-12-01",
            f"inv-{second}-2026-12-01",
        ]
    )
    for _ in range(2):
        activity_env.run(
            acts.collect_batch, CollectBatchInput(invoice_ids=twice.invoice_ids, as_of=AS_OF)
        )
    ids = set(once.invoice_ids)
    effects = side_effects(deps, standins, deps.notifier.directory, ids)  # type: ignore[attr-defined]
    assert [inv[1] for inv in effects.invoices] == ["US-000001", "US-000002"]
    assert [a[1] for a in effects.attempts] == [f"invoice:{i}:attempt:1" for i in once.invoice_ids]
    assert (effects.stripe_charges, effects.adyen_charges, effects.gateway_requests) == (1, 1, 2)


# --- parking -----------------------------------------------------------------------------------


def _unpriced_currency(db: Database, customer_id: str) -> str:
    make_customer(db, customer_id, currency="GBP")
    _raw_subscription(db, customer_id, "growth-monthly", 1)
    return "plan growth-monthly v1: plan 'growth-monthly' is not sold in GBP"


def _plan_not_in_catalog(db: Database, customer_id: str) -> str:
    make_customer(db, customer_id)
    _raw_subscription(db, customer_id, "growth-monthly", 99)
    return "plan growth-monthly v99: unknown catalog version 99"


def _raw_subscription(db: Database, customer_id: str, plan: str, version: int) -> None:
    """A subscription the validated path would refuse today (legacy or imported data)."""
    with db.transaction() as session:
        session.add(
            SubscriptionRow(
                id=f"{customer_id}-s", customer_id=customer_id, plan_code=plan,
                catalog_version=version, quantity=1, status="active",
                started_on=date(2026, 11, 1), trial_end_on=None, cancelled_on=None,
                updated_at=AS_OF,
            )
        )  # fmt: skip


@pytest.mark.parametrize("broken", [_unpriced_currency, _plan_not_in_catalog])
def test_failing_account_is_parked_and_the_batch_goes_on(
    deps: Deps,
    standins: PaymentStandIns,
    uid: str,
    activity_env: ActivityEnvironment,
    broken: Callable[[Database, str], str],
) -> None:
    ok_1, bad, ok_2 = f"{uid}-a", f"{uid}-b", f"{uid}-c"
    subs = SubscriptionActivities(deps)
    for customer_id in (ok_1, ok_2):
        make_customer(deps.db, customer_id)
        make_subscription(subs, f"{customer_id}-s", customer_id)
    reason = broken(deps.db, bad)
    acts = BillCycleActivities(deps)

    due, invoiced, collected = run_cycle(activity_env, acts)

    assert due == [ok_1, bad, ok_2]
    assert invoiced == BillCycleTotals(
        accounts_seen=3, invoices=2, invoices_created=2, parked=1,
        amount_invoiced_minor_by_currency={"USD": 2 * 19900},
    )  # fmt: skip
    assert collected == BillCycleTotals(payments_succeeded=2)
    inv_1, inv_2 = f"inv-{ok_1}-2026-12-01", f"inv-{ok_2}-2026-12-01"
    with deps.db.transaction() as session:
        runs = session.scalars(select(BillCycleRunRow).order_by(BillCycleRunRow.customer_id)).all()
        assert [(r.bill_cycle_key, r.customer_id, r.outcome, r.invoice_id) for r in runs] == [
            (KEY, ok_1, "invoiced", inv_1),
            (KEY, bad, "parked", None),
            (KEY, ok_2, "invoiced", inv_2),
        ]
        assert reason in runs[1].detail
        assert f"{bad}-s" in runs[1].detail
        assert session.scalars(select(InvoiceRow.customer_id).order_by(InvoiceRow.id)).all() == [
            ok_1,
            ok_2,
        ]
    # the parked account did not burn an invoice number: still gapless
    effects = side_effects(deps, standins, deps.notifier.directory, {inv_1, inv_2})  # type: ignore[attr-defined]
    assert [(i[0], i[1]) for i in effects.invoices] == [(inv_1, "US-000001"), (inv_2, "US-000002")]
    assert effects.next_number == 3

    _, again, _ = run_cycle(activity_env, acts)
    assert (again.invoices_created, again.parked) == (0, 1)
    assert side_effects(deps, standins, deps.notifier.directory, {inv_1, inv_2}) == effects  # type: ignore[attr-defined]


# --- which accounts are due --------------------------------------------------------------------


def _due(deps: Deps, cycle_on: date, as_of: datetime) -> list[str]:
    result = BillCycleActivities(deps).find_due_accounts(
        DueAccountsInput(cycle_on=cycle_on, as_of=as_of, after_customer_id=None, limit=100)
    )
    assert result.next_cursor is None
    return result.customer_ids


# 2026-12-01 starts at 2026-11-30T11:00Z in Auckland (NZDT, +13) and 2026-12-01T08:00Z in Los
# Angeles (PST, -8).
@pytest.mark.parametrize(
    ("as_of", "expected"),
    [
        (datetime(2026, 11, 30, 10, 59, 59, tzinfo=UTC), []),
        (datetime(2026, 11, 30, 11, 0, tzinfo=UTC), ["akl"]),
        (datetime(2026, 12, 1, 7, 59, 59, tzinfo=UTC), ["akl"]),
        (datetime(2026, 12, 1, 8, 0, tzinfo=UTC), ["akl", "lax"]),
    ],
    ids=["before-auckland", "auckland-midnight", "before-los-angeles", "los-angeles-midnight"],
)
def test_due_accounts_follow_local_midnight(
    deps: Deps, uid: str, as_of: datetime, expected: list[str]
) -> None:
    make_customer(deps.db, f"{uid}-akl", timezone="Pacific/Auckland")
    make_customer(deps.db, f"{uid}-lax", timezone="America/Los_Angeles")
    make_customer(deps.db, f"{uid}-bcd2", timezone="Pacific/Auckland", bill_cycle_day=2)
    assert _due(deps, date(2026, 12, 1), as_of) == [f"{uid}-{s}" for s in expected]


@pytest.mark.parametrize(
    ("cycle_on", "expected_days"),
    [
        (date(2027, 2, 28), [28, 29, 30, 31]),
        (date(2027, 2, 27), [27]),
        (date(2027, 1, 31), [31]),
        (date(2027, 1, 30), [30]),
        (date(2027, 4, 30), [30, 31]),
        (date(2028, 2, 29), [29, 30, 31]),
        (date(2028, 2, 28), [28]),
    ],
)
def test_due_accounts_clamp_bill_cycle_day_to_month_end(
    deps: Deps, uid: str, cycle_on: date, expected_days: list[int]
) -> None:
    for bcd in (1, 27, 28, 29, 30, 31):
        make_customer(deps.db, f"{uid}-{bcd:02d}", timezone="UTC", bill_cycle_day=bcd)
    just_before = datetime.combine(cycle_on, datetime.min.time(), tzinfo=UTC).replace(microsecond=0)
    assert _due(deps, cycle_on, just_before) == [f"{uid}-{d:02d}" for d in expected_days]
    assert _due(deps, cycle_on, just_before - timedelta(seconds=1)) == []


def test_bill_cycle_day_31_is_invoiced_on_february_28(
    deps: Deps, uid: str, activity_env: ActivityEnvironment
) -> None:
    customer = f"{uid}-31"
    make_customer(deps.db, customer, timezone="UTC", bill_cycle_day=31)
    make_subscription(SubscriptionActivities(deps), f"{customer}-s", customer)
    cycle_on = date(2027, 2, 28)
    as_of = datetime(2027, 2, 28, 9, tzinfo=UTC)
    assert BillCycleActivities(deps).find_due_accounts(
        DueAccountsInput(cycle_on=cycle_on, as_of=as_of, after_customer_id=None, limit=10)
    ).customer_ids == [customer]
    result = activity_env.run(
        BillCycleActivities(deps).invoice_batch,
        InvoiceBatchInput(
            bill_cycle_key="bill-cycle-28-2027-02",
            cycle_on=cycle_on,
            customer_ids=[customer],
            as_of=as_of,
        ),
    )
    assert result.invoice_ids == [f"inv-{customer}-2027-02-28"]
    with deps.db.transaction() as session:
        invoice = session.get(InvoiceRow, f"inv-{customer}-2027-02-28")
        assert invoice is not None
        assert (invoice.period_start, invoice.period_end) == (date(2027, 2, 28), date(2027, 3, 31))
        assert (invoice.usage_period_start, invoice.usage_period_end) == (
            date(2027, 1, 31),
            date(2027, 2, 28),
        )
        assert invoice.total_minor == 19900


def test_due_accounts_page_with_a_keyset_cursor(deps: Deps, uid: str) -> None:
    ids = [f"{uid}-{n}" for n in ("a", "b", "c")]
    for customer_id in ids:
        make_customer(deps.db, customer_id)
    acts = BillCycleActivities(deps)
    first = acts.find_due_accounts(
        DueAccountsInput(cycle_on=CYCLE_ON, as_of=AS_OF, after_customer_id=None, limit=2)
    )
    assert (first.customer_ids, first.next_cursor) == (ids[:2], ids[1])
    second = acts.find_due_accounts(
        DueAccountsInput(cycle_on=CYCLE_ON, as_of=AS_OF, after_customer_id=ids[1], limit=2)
    )
    assert (second.customer_ids, second.next_cursor) == (ids[2:], None)


def test_collect_batch_goes_on_after_a_rejected_payment_method(
    deps: Deps, standins: PaymentStandIns, uid: str, activity_env: ActivityEnvironment
) -> None:
    ok_1, bad, ok_2 = f"{uid}-a", f"{uid}-b", f"{uid}-c"
    subs = SubscriptionActivities(deps)
    for customer_id, token in ((ok_1, "pm_card_visa"), (bad, "pm_unknown"), (ok_2, "pm_card_visa")):
        make_customer(deps.db, customer_id, token=token)
        make_subscription(subs, f"{customer_id}-s", customer_id)
    acts = BillCycleActivities(deps)
    invoiced = activity_env.run(
        acts.invoice_batch,
        InvoiceBatchInput(
            bill_cycle_key=KEY, cycle_on=CYCLE_ON, customer_ids=[ok_1, bad, ok_2], as_of=AS_OF
        ),
    )
    assert invoiced.totals.invoices_created == 3

    activity_env.run(
        acts.collect_batch, CollectBatchInput(invoice_ids=invoiced.invoice_ids, as_of=AS_OF)
    )

    with deps.db.transaction() as session:
        statuses = {r.customer_id: r.status for r in session.scalars(select(InvoiceRow))}
        bad_attempt = session.scalars(
            select(PaymentAttemptRow.status).where(
                PaymentAttemptRow.invoice_id == f"inv-{bad}-2026-12-01"
            )
        ).all()
    assert statuses == {ok_1: "paid", bad: "open", ok_2: "paid"}
    assert bad_attempt == ["error"]
