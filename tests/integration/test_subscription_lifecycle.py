"""Lifecycle changes against a real database, through the activity the workflow updates run:
exact day-based proration as billing adjustments, carried once by the next invoice; a retried
change (same key) changes nothing; end-of-term changes land on the next period; coupons and
pauses reach the next invoice; rejected changes say why and write nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.deps import Deps
from activities.subscriptions import SubscriptionActivities
from models.contracts import (
    ApplyCouponRequest,
    CancelSubscriptionRequest,
    ChangePlanRequest,
    ChangeQuantityRequest,
    SubscriptionChangeInput,
    SubscriptionChangeResult,
    SubscriptionRefInput,
)
from models.repo_drafts import credit_balance_minor
from models.tables import BillingAdjustmentRow, InvoiceLineRow, SubscriptionRow
from tests.factories import bill_account, make_customer, make_subscription

pytestmark = pytest.mark.db

DEC_1 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
DEC_11 = datetime(2026, 12, 11, 12, 0, tzinfo=UTC)
DEC_21 = datetime(2026, 12, 21, 12, 0, tzinfo=UTC)
JAN_1 = datetime(2027, 1, 1, 12, 0, tzinfo=UTC)


def _setup(deps: Deps, plan: str = "growth-monthly") -> SubscriptionActivities:
    subs = SubscriptionActivities(deps)
    make_customer(deps.db, "acme", timezone="UTC", bill_cycle_day=1)
    make_subscription(subs, "acme-1", "acme", plan=plan, started_on=date(2026, 12, 1), as_of=DEC_1)
    bill_account(deps, "acme", date(2026, 12, 1), DEC_1)
    return subs


def _lines(deps: Deps, invoice_id: str) -> list[tuple[str, str, int]]:
    with deps.db.transaction() as session:
        rows = session.scalars(
            select(InvoiceLineRow)
            .where(InvoiceLineRow.invoice_id == invoice_id)
            .order_by(InvoiceLineRow.line_no)
        ).all()
        return [(row.kind, row.description, row.amount_minor) for row in rows]


def _change(
    subs: SubscriptionActivities, kind: str, key: str, as_of: datetime, **request: object
) -> SubscriptionChangeResult:
    change = SubscriptionChangeInput.model_validate(
        {"subscription_id": "acme-1", "kind": kind, "key": key, "as_of": as_of, **request}
    )
    return ActivityEnvironment().run(subs.change_subscription, change)


def _adjustments(deps: Deps) -> int:
    with deps.db.transaction() as session:
        return session.scalar(select(func.count()).select_from(BillingAdjustmentRow)) or 0


def test_upgrade_mid_period_credits_old_and_charges_new_once(deps: Deps) -> None:
    subs = _setup(deps)
    plan = ChangePlanRequest(plan_code="enterprise-monthly", timing="immediate")
    result = _change(subs, "change_plan", "k1", DEC_11, change_plan=plan)
    # December has 31 days; 21 remain from Dec 11: 199 x 21/31 and 999 x 21/31
    assert [(line.amount, line.amount_minor) for line in result.lines] == [
        ("-134.806451613", -13481),
        ("676.741935484", 67674),
    ]
    assert result.net_minor == 67674 - 13481
    assert result.snapshot.plan_code == "enterprise-monthly"
    again = _change(subs, "change_plan", "k1", DEC_11, change_plan=plan)
    assert again.lines == result.lines and _adjustments(deps) == 2

    january = bill_account(deps, "acme", date(2027, 1, 1), JAN_1)
    assert sorted(amount for _, _, amount in _lines(deps, january.id)) == [-13481, 67674, 99900]
    assert january.total_minor == 99900 + 67674 - 13481
    with deps.db.transaction() as session:
        billed = session.scalars(select(BillingAdjustmentRow.invoice_id)).all()
    assert set(billed) == {january.id}  # carried once, by the January invoice


def test_change_at_end_of_term_prices_the_next_period_without_proration(deps: Deps) -> None:
    subs = _setup(deps)
    plan = ChangePlanRequest(plan_code="enterprise-monthly", timing="end_of_term")
    result = _change(subs, "change_plan", "k2", DEC_11, change_plan=plan)
    assert result.lines == [] and result.effective_on == date(2027, 1, 1)
    assert result.snapshot.pending_plan_code == "enterprise-monthly"
    assert result.snapshot.plan_code == "growth-monthly"
    january = bill_account(deps, "acme", date(2027, 1, 1), JAN_1)
    assert january.total_minor == 99900
    ref = SubscriptionRefInput(subscription_id="acme-1", as_of=JAN_1)
    snap = ActivityEnvironment().run(subs.roll_subscription_period, ref)
    assert (snap.plan_code, snap.pending_plan_code) == ("enterprise-monthly", None)


def test_quantity_change_prorates_the_added_seats(deps: Deps) -> None:
    subs = _setup(deps)
    request = ChangeQuantityRequest(quantity=3, timing="immediate")
    result = _change(subs, "change_quantity", "k3", DEC_11, change_quantity=request)
    # credit 1 seat x 199 x 21/31, charge 3 seats x 199 x 21/31: net 2 seats for 21 days
    assert [line.amount_minor for line in result.lines] == [-13481, 40442]
    assert result.snapshot.quantity == 3


def test_pause_credits_and_resume_charges_the_rest(deps: Deps) -> None:
    subs = _setup(deps)
    paused = _change(subs, "pause", "p1", DEC_11)
    assert paused.snapshot.status == "paused"
    assert [line.amount_minor for line in paused.lines] == [-13481]
    resumed = _change(subs, "resume", "r1", DEC_21)
    assert resumed.snapshot.status == "active"
    assert [line.amount_minor for line in resumed.lines] == [7061]  # 199 x 11/31
    january = bill_account(deps, "acme", date(2027, 1, 1), JAN_1)
    assert january.total_minor == 19900 - 13481 + 7061


def test_nothing_recurring_is_billed_while_paused_and_credits_carry_forward(deps: Deps) -> None:
    subs = _setup(deps)
    _change(subs, "pause", "p1", DEC_11)
    january = bill_account(deps, "acme", date(2027, 1, 1), JAN_1)
    assert [kind for kind, _, _ in _lines(deps, january.id)] == ["proration"]
    assert (january.total_minor, january.status) == (-13481, "paid")  # nothing to collect
    with deps.db.transaction() as session:
        assert credit_balance_minor(session, "acme") == 13481  # carried to the wallet

    resumed = _change(subs, "resume", "r1", datetime(2027, 1, 5, 12, tzinfo=UTC))
    assert [line.amount_minor for line in resumed.lines] == [17332]  # 199 x 27/31
    february = bill_account(deps, "acme", date(2027, 2, 1), datetime(2027, 2, 1, 12, tzinfo=UTC))
    kinds = [(kind, amount) for kind, _, amount in _lines(deps, february.id)]
    assert ("credit", -13481) in kinds
    assert february.total_minor == 19900 + 17332 - 13481
    with deps.db.transaction() as session:
        assert credit_balance_minor(session, "acme") == 0


def test_immediate_cancel_credits_the_unused_days(deps: Deps) -> None:
    subs = _setup(deps)
    result = _change(subs, "cancel", "c1", DEC_11, cancel=CancelSubscriptionRequest())
    assert result.snapshot.status == "cancelled"
    assert [line.amount_minor for line in result.lines] == [-13481]


def test_cancel_at_period_end_then_reactivate(deps: Deps) -> None:
    subs = _setup(deps)
    at_end = CancelSubscriptionRequest(mode="period_end")
    result = _change(subs, "cancel", "c2", DEC_11, cancel=at_end)
    assert result.snapshot.cancelled_on == date(2027, 1, 1) and result.lines == []
    back = _change(subs, "reactivate", "r2", DEC_21)
    assert back.snapshot.cancelled_on is None and back.snapshot.status == "active"


def test_reactivating_a_cancelled_subscription_charges_the_rest(deps: Deps) -> None:
    subs = _setup(deps)
    _change(subs, "cancel", "c3", DEC_11, cancel=CancelSubscriptionRequest())
    back = _change(subs, "reactivate", "r3", DEC_21)
    assert back.snapshot.status == "active"
    assert [line.amount_minor for line in back.lines] == [7061]


def test_rejected_changes_say_why_and_write_nothing(deps: Deps) -> None:
    subs = _setup(deps)
    bad_plan = ChangePlanRequest(plan_code="no-such-plan")
    with pytest.raises(ApplicationError, match="no-such-plan"):
        _change(subs, "change_plan", "x1", DEC_11, change_plan=bad_plan)
    with pytest.raises(ApplicationError, match="not paused"):
        _change(subs, "resume", "x2", DEC_11)
    with pytest.raises(ApplicationError, match="unknown coupon"):
        _change(
            subs, "apply_coupon", "x3", DEC_11, apply_coupon=ApplyCouponRequest(coupon_code="NOPE")
        )
    assert _adjustments(deps) == 0
    with deps.db.transaction() as session:
        row = session.get(SubscriptionRow, "acme-1")
        assert row is not None and (row.plan_code, row.status) == ("growth-monthly", "active")


def test_coupon_applies_from_the_next_invoice_for_its_duration(deps: Deps) -> None:
    subs = SubscriptionActivities(deps)
    make_customer(deps.db, "acme", timezone="UTC", bill_cycle_day=1)
    make_subscription(subs, "acme-1", "acme", started_on=date(2027, 1, 1), as_of=JAN_1)
    bill_account(deps, "acme", date(2027, 1, 1), JAN_1)  # sold on catalog v2, which has coupons
    welcome = ApplyCouponRequest(coupon_code="WELCOME10")  # 10 % off, once
    result = _change(
        subs, "apply_coupon", "cp1", datetime(2027, 1, 11, tzinfo=UTC), apply_coupon=welcome
    )
    assert result.snapshot.options is not None
    assert result.snapshot.options.redeemed_coupons == ["WELCOME10"]
    february = bill_account(deps, "acme", date(2027, 2, 1), datetime(2027, 2, 1, 12, tzinfo=UTC))
    assert ("discount", -1990) in [(k, a) for k, _, a in _lines(deps, february.id)]
    assert february.total_minor == 17910
    march = bill_account(deps, "acme", date(2027, 3, 1), datetime(2027, 3, 1, 12, tzinfo=UTC))
    assert march.total_minor == 19900  # `once` is over
    with pytest.raises(ApplicationError, match="already applied"):
        _change(subs, "apply_coupon", "cp2", datetime(2027, 3, 2, tzinfo=UTC), apply_coupon=welcome)


def test_moving_to_a_new_catalog_version_is_an_explicit_change_plan(deps: Deps) -> None:
    subs = _setup(deps)  # sold on catalog v1 in December
    jan_11 = datetime(2027, 1, 11, 12, tzinfo=UTC)
    january = bill_account(deps, "acme", date(2027, 1, 1), JAN_1)
    assert january.total_minor == 19900  # v2 is in force, the subscription keeps v1
    with deps.db.transaction() as session:
        row = session.get(SubscriptionRow, "acme-1")
        assert row is not None and row.catalog_version == 1
    same_plan = ChangePlanRequest(plan_code="growth-monthly", timing="immediate")
    moved = _change(subs, "change_plan", "v2", jan_11, change_plan=same_plan)
    assert moved.snapshot.catalog_version == 2
    assert moved.net_minor == 0  # growth costs the same in v2: credit and charge cancel out
    assert [line.amount_minor for line in moved.lines] == [-13481, 13481]
