"""`make demo`: a whole billing month on the embedded defaults, in well under three minutes.

Starts the Temporal dev server (UI on :8233) and the Stripe/Adyen stand-ins, runs a worker in
this process, loads config/, creates five customers in two legal entities and currencies with
subscriptions and usage, runs the bill cycle, and follows the dunning cases: one customer pays,
one is declined and walks the ladder to suspension and write-off, one fails then recovers on the
first retry, one is in a prorated trial, one hits a gateway network error and is charged once.
Then acme upgrades mid-period and initech pauses (workflow updates, with their proration), and
the demo previews acme's next invoice.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from billing.periods import previous_cycle_on
from models.accounts import CustomerCreate, UsageEventCreate, add_customer, record_usage
from models.contracts import ChangePlanRequest, PauseRequest, SubscriptionWorkflowInput
from models.repo_drafts import preview_next_invoice
from models.tables import CustomerRow, DunningCaseRow
from models.usage_settle import settle_usage
from payments.standins import start_payment_standins
from settings import Settings
from starter.client import connect
from starter.ops import (
    run_bill_cycle,
    start_subscription,
    subscription_state,
    update_subscription,
)
from starter.report import money, print_summary
from starter.server import is_listening, start_dev_server
from worker import build_deps, build_worker
from workflows.dunning import DunningWorkflow, dunning_workflow_id

console = Console(width=140)


def demo_customers(cycle_on: date) -> list[tuple[CustomerCreate, str, date]]:
    """(customer, plan, subscription start) for the five demo stories."""
    day = cycle_on.day
    month_ago = previous_cycle_on(cycle_on, day)

    def c(**kw: object) -> CustomerCreate:
        return CustomerCreate.model_validate({"bill_cycle_day": day, **kw})

    return [
        (c(id="acme", name="Acme Corp", email="ap@acme.example", phone="+15550100001",
           currency="USD", locale="en_US", timezone="America/New_York", legal_entity="o2c-us",
           gateway="stripe", payment_token="pm_card_visa"), "growth-monthly", month_ago),
        (c(id="globex", name="Globex SARL", email="compta@globex.example", phone="+33612345678",
           currency="EUR", locale="fr_FR", timezone="Europe/Paris", legal_entity="o2c-eu",
           gateway="adyen", payment_token="pm_card_chargeDeclinedInsufficientFunds"),
         "starter-monthly", month_ago - timedelta(days=20)),
        (c(id="initech", name="Initech LLC", email="billing@initech.example",
           phone="+15550100003", currency="USD", locale="en_US", timezone="America/Chicago",
           legal_entity="o2c-us", gateway="stripe", payment_token="pm_card_fail_then_succeed"),
         "growth-monthly", month_ago),
        (c(id="umbrella", name="Umbrella GmbH", email="rechnung@umbrella.example",
           currency="EUR", locale="de_DE", timezone="Europe/Berlin", legal_entity="o2c-eu",
           gateway="stripe", payment_token="pm_card_visa"), "starter-monthly",
         cycle_on - timedelta(days=5)),
        (c(id="hooli", name="Hooli Inc", email="ar@hooli.example", phone="+15550100005",
           currency="USD", locale="en_US", timezone="America/Los_Angeles", legal_entity="o2c-us",
           gateway="adyen", payment_token="pm_card_network_error"),
         "enterprise-monthly", month_ago),
    ]  # fmt: skip


def demo_usage(cycle_on: date, subscription_id: str, seed: int) -> list[UsageEventCreate]:
    start = datetime.combine(previous_cycle_on(cycle_on, cycle_on.day), datetime.min.time(), UTC)
    events = []
    for n in range(40):
        events.append(
            UsageEventCreate(
                transaction_id=f"{subscription_id}-api-{n}",
                subscription_id=subscription_id,
                metric_code="api_calls",
                occurred_at=start + timedelta(days=1 + n % 25, minutes=n),
                quantity=Decimal(250 * seed + n),
            )
        )
    events.append(
        UsageEventCreate(
            transaction_id=f"{subscription_id}-storage",
            subscription_id=subscription_id,
            metric_code="storage_gb",
            occurred_at=start + timedelta(days=10),
            quantity=Decimal("12.5") * seed,
        )
    )
    return events


def demo_settings(base: Settings) -> Settings:
    var = base.var_dir / "demo"
    return base.model_copy(update={"var_dir": var, "database_url": "", "notifier": "outbox"})


async def run_demo(base: Settings, keep: bool) -> int:
    # Retried activities (the gateway network-error story) log tracebacks at WARNING: the
    # summary shows their outcome instead.
    logging.getLogger("temporalio").setLevel(logging.ERROR)
    settings = demo_settings(base)
    if is_listening(settings.temporal_address):
        console.print(
            f"[red]error:[/] something already listens on {settings.temporal_address}; stop it "
            "(a previous `o2c demo --keep` or `o2c server`) or set O2C_TEMPORAL_ADDRESS"
        )
        return 2
    shutil.rmtree(settings.var_dir, ignore_errors=True)
    settings.var_dir.mkdir(parents=True)
    started = datetime.now(UTC)
    console.print("[bold]o2c demo[/] — starting the Temporal dev server and gateway stand-ins")
    server = start_dev_server(
        settings, settings.var_dir / "temporal", settings.var_dir / "temporal.log"
    )
    standins = start_payment_standins()
    try:
        await _run(settings, started)
    finally:
        standins.stop()
        if keep:
            _keep(settings, server)
        else:
            server.terminate()
            server.wait(timeout=30)
    return 0


async def _run(settings: Settings, started: datetime) -> None:
    deps = build_deps(settings)
    config = deps.config.model_copy(
        update={
            "entities": [
                e.model_copy(update={"dunning_ladder": "demo"}) for e in deps.config.entities
            ]
        }
    )
    deps = type(deps)(
        db=deps.db, config=config, gateways=deps.gateways, notifier=deps.notifier,
        renderer=deps.renderer,
    )  # fmt: skip
    cycle_on = (started - timedelta(days=1)).date()
    customers = demo_customers(cycle_on)
    with deps.db.transaction() as session:
        for customer, _, _ in customers:
            add_customer(session, customer, started)
    client = await connect(settings)
    with ThreadPoolExecutor(max_workers=settings.worker_max_concurrent_activities) as executor:
        async with build_worker(client, settings, deps, executor):
            await _subscribe_and_use(client, settings, deps, customers, cycle_on, started)
            console.print(f"running bill cycle [bold]{cycle_on}[/] ...")
            totals = await run_bill_cycle(client, settings, cycle_on)
            console.print(f"bill cycle done: {totals}")
            await _follow_dunning(client, deps)
            await _lifecycle(client, deps)
    _preview(deps, "acme", started)
    print_summary(console, deps.db, settings, cycle_on, started)


async def _subscribe_and_use(client, settings, deps, customers, cycle_on, started) -> None:  # type: ignore[no-untyped-def]
    for seed, (customer, plan, start_on) in enumerate(customers, start=1):
        sub_id = f"sub-{customer.id}-1"
        await start_subscription(
            client,
            settings,
            SubscriptionWorkflowInput(
                subscription_id=sub_id, customer_id=customer.id, plan_code=plan, started_on=start_on
            ),
        )
        await _until_created(client, sub_id)
        with deps.db.transaction() as session:
            for event in demo_usage(cycle_on, sub_id, seed):
                record_usage(session, event, started)
    console.print(f"{len(customers)} customers subscribed, usage recorded")


async def _until_created(client, subscription_id: str) -> None:  # type: ignore[no-untyped-def]
    for _ in range(200):
        try:
            await subscription_state(client, subscription_id)
            return
        except Exception:
            await asyncio.sleep(0.1)
    raise TimeoutError(f"subscription {subscription_id} was not created")


async def _follow_dunning(client, deps) -> None:  # type: ignore[no-untyped-def]
    with deps.db.transaction() as session:
        invoice_ids = list(session.scalars(select(DunningCaseRow.invoice_id)).all())
    for invoice_id in invoice_ids:
        handle = client.get_workflow_handle_for(
            DunningWorkflow.run, dunning_workflow_id(invoice_id)
        )
        state = await asyncio.wait_for(handle.result(), timeout=120)
        console.print(f"dunning {invoice_id}: {state.status} after steps {state.steps_done}")


async def _lifecycle(client, deps) -> None:  # type: ignore[no-untyped-def]
    """Mid-period changes through the workflow updates: acme upgrades to two enterprise seats
    (the unused growth days are credited, the enterprise days charged on its next invoice),
    initech pauses (the unused days are credited, nothing recurring billed while paused)."""
    upgrade = ChangePlanRequest(plan_code="enterprise-monthly", quantity=2, timing="immediate")
    for sub_id, update, request, key in (
        ("sub-acme-1", "change_plan", upgrade, "demo-acme-upgrade"),
        ("sub-initech-1", "pause", PauseRequest(reason="seasonal"), "demo-initech-pause"),
    ):
        result = await update_subscription(client, sub_id, update, request, key)
        table = Table(title=f"{update} {sub_id}: effective {result.effective_on}")
        for col in ("kind", "description", "period", "amount (exact)", "amount"):
            table.add_column(col)
        for line in result.lines:
            table.add_row(
                line.kind, line.description, f"{line.period_start} → {line.period_end}",
                line.amount, money(line.amount_minor, result.currency),
            )  # fmt: skip
        console.print(table)


def _preview(deps, customer_id: str, started: datetime) -> None:  # type: ignore[no-untyped-def]
    """The next invoice of the account, drafted by the code that bills (nothing written)."""
    settle_usage(deps.db)
    with deps.db.transaction() as session:
        customer = session.get(CustomerRow, customer_id)
        today = started.astimezone(ZoneInfo(customer.timezone)).date()
        preview = preview_next_invoice(session, deps.config, customer, today, started)
        session.rollback()
    table = Table(title=f"Preview of {customer_id}'s next invoice ({preview.cycle_on}, dry run)")
    for col in ("kind", "description", "period", "amount"):
        table.add_column(col)
    for line in preview.lines:
        table.add_row(
            line.kind, line.description, f"{line.period_start} → {line.period_end}",
            money(line.amount_minor, preview.currency),
        )  # fmt: skip
    table.add_row("", "total", "", money(preview.total_minor, preview.currency))
    console.print(table)


def _keep(settings: Settings, server: subprocess.Popen[bytes]) -> None:
    pid_file = settings.var_dir / "temporal.pid"
    pid_file.write_text(str(server.pid))
    console.print(
        f"--keep: Temporal dev server left running (pid {server.pid}, written to {pid_file}); "
        f"UI at http://127.0.0.1:{settings.temporal_ui_port}. Stop it with `kill {server.pid}`."
    )
