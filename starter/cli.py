"""`o2c` command line: server, worker, demo, config check, customers, subscriptions, usage,
bill cycles, dunning and the daily schedule. Bad input gets one clear line and exit code 2."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Coroutine
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console

from settings import PROJECT_ROOT, get_settings

app = typer.Typer(no_args_is_help=True, add_completion=False, help="o2c: order-to-cash on Temporal")
config_app = typer.Typer(no_args_is_help=True, help="Validate the YAML configuration")
customer_app = typer.Typer(no_args_is_help=True, help="Billing accounts")
subscription_app = typer.Typer(no_args_is_help=True, help="Subscriptions (SubscriptionWorkflow)")
usage_app = typer.Typer(no_args_is_help=True, help="Usage events")
cycle_app = typer.Typer(no_args_is_help=True, help="Bill cycles (BillCycleWorkflow)")
dunning_app = typer.Typer(no_args_is_help=True, help="Dunning cases (DunningWorkflow)")
schedule_app = typer.Typer(no_args_is_help=True, help="The daily bill-cycle schedule")
for sub, name in (
    (config_app, "config"),
    (customer_app, "customer"),
    (subscription_app, "subscription"),
    (usage_app, "usage"),
    (cycle_app, "bill-cycle"),
    (dunning_app, "dunning"),
    (schedule_app, "schedule"),
):
    app.add_typer(sub, name=name)

err = Console(stderr=True)
out = Console()
T = TypeVar("T")


def fail(message: str) -> typer.Exit:
    err.print(f"[red]error:[/] {message}", highlight=False)
    return typer.Exit(2)


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine; turn the errors a user can meet into one line."""
    from temporalio.client import RPCError, WorkflowUpdateFailedError
    from temporalio.service import RPCStatusCode

    try:
        return asyncio.run(coro)
    except WorkflowUpdateFailedError as exc:
        raise fail(str(exc.cause or exc)) from None
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise fail(f"not found: {exc.message}") from None
        raise fail(f"Temporal: {exc.message}") from None
    except (ConnectionError, RuntimeError) as exc:
        settings = get_settings()
        raise fail(
            f"cannot reach Temporal at {settings.temporal_address}: {exc} "
            "(start it with `o2c server`, or set O2C_TEMPORAL_ADDRESS)"
        ) from None


def _database() -> Any:
    from models.db import Database, migrate

    url = get_settings().effective_database_url
    migrate(url)
    return Database(url)


@app.command()
def server() -> None:
    """Start the Temporal dev server (state under var/temporal, UI on :8233) and wait."""
    from starter.server import is_listening, start_dev_server

    settings = get_settings()
    if is_listening(settings.temporal_address):
        raise fail(f"something already listens on {settings.temporal_address}")
    proc = start_dev_server(
        settings, settings.var_dir / "temporal", settings.var_dir / "temporal.log"
    )
    out.print(
        f"Temporal dev server on {settings.temporal_address}, "
        f"UI http://127.0.0.1:{settings.temporal_ui_port} (Ctrl-C to stop)"
    )
    try:
        proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        proc.wait(timeout=30)


@app.command()
def worker() -> None:
    """Run the o2c worker (all workflows and activities) until SIGINT/SIGTERM."""
    from models.config_loader import ConfigError
    from worker import run_worker

    try:
        run(run_worker())
    except ConfigError as exc:
        for problem in exc.problems:
            err.print(str(problem), highlight=False)
        raise fail("invalid configuration; run `o2c config check`") from None


@app.command()
def demo(keep: bool = typer.Option(False, "--keep", help="Leave the server and UI up")) -> None:
    """Run the demo billing month on embedded defaults."""
    from starter.demo import run_demo

    raise typer.Exit(asyncio.run(run_demo(get_settings(), keep)))


@config_app.command("check")
def config_check(
    config_dir: Path = typer.Option(None, help="Config folder (default: O2C_CONFIG_DIR)"),
) -> None:
    """Validate every YAML file; print file:line: field: rule for each problem."""
    from starter.config_check import run_config_check

    code = run_config_check(config_dir or get_settings().config_dir, PROJECT_ROOT / "templates")
    raise typer.Exit(code)


@customer_app.command("add")
def customer_add(
    customer_id: str,
    name: str = typer.Option(...),
    email: str = typer.Option(...),
    currency: str = typer.Option(...),
    legal_entity: str = typer.Option(...),
    bill_cycle_day: int = typer.Option(1, min=1, max=31),
    phone: str = typer.Option(None),
    locale: str = typer.Option("en_US"),
    timezone: str = typer.Option("UTC"),
    gateway: str = typer.Option(None, help="stripe or adyen"),
    payment_token: str = typer.Option(None, help="gateway payment-method token"),
) -> None:
    """Create a billing account (and its default payment method)."""
    from models.accounts import AccountError, CustomerCreate, add_customer

    try:
        data = CustomerCreate(
            id=customer_id, name=name, email=email, phone=phone, currency=currency,
            locale=locale, timezone=timezone, bill_cycle_day=bill_cycle_day,
            legal_entity=legal_entity, gateway=gateway, payment_token=payment_token,
        )  # fmt: skip
    except ValidationError as exc:
        raise fail(_first_error(exc)) from None
    db = _database()
    _ensure_config_loaded(db)
    try:
        with db.transaction() as session:
            add_customer(session, data, datetime.now(UTC))
    except AccountError as exc:
        raise fail(str(exc)) from None
    out.print(f"customer {customer_id} created")


@subscription_app.command("start")
def subscription_start(
    subscription_id: str,
    customer: str = typer.Option(...),
    plan: str = typer.Option(...),
    quantity: int = typer.Option(1, min=1),
    start_on: datetime = typer.Option(None, formats=["%Y-%m-%d"]),
) -> None:
    """Start the SubscriptionWorkflow (id subscription-<id>); starting twice is a no-op."""
    from models.contracts import SubscriptionWorkflowInput
    from models.tables import CustomerRow, PlanRow
    from starter.client import connect
    from starter.ops import start_subscription

    db = _database()
    with db.transaction() as session:
        if session.get(CustomerRow, customer) is None:
            raise fail(f"unknown customer {customer!r} (create it with `o2c customer add`)")
        if not session.query(PlanRow).filter(PlanRow.code == plan).count():
            raise fail(f"unknown plan {plan!r} (see config/catalog)")
    request = SubscriptionWorkflowInput(
        subscription_id=subscription_id,
        customer_id=customer,
        plan_code=plan,
        quantity=quantity,
        started_on=start_on.date() if start_on else None,
    )

    async def go() -> str:
        handle = await start_subscription(await connect(get_settings()), get_settings(), request)
        return handle.id

    out.print(f"started workflow {run(go())}")


@subscription_app.command("cancel")
def subscription_cancel(
    subscription_id: str,
    at_period_end: bool = typer.Option(False, "--at-period-end"),
    reason: str = typer.Option("customer request"),
) -> None:
    """Cancel through the workflow's validated update."""
    from models.contracts import CancelSubscriptionRequest
    from starter.client import connect
    from starter.ops import cancel_subscription

    request = CancelSubscriptionRequest(
        mode="period_end" if at_period_end else "immediate", reason=reason
    )

    async def go() -> Any:
        return await cancel_subscription(await connect(get_settings()), subscription_id, request)

    snap = run(go())
    out.print(f"subscription {subscription_id}: {snap.status}, cancelled on {snap.cancelled_on}")


@subscription_app.command("show")
def subscription_show(subscription_id: str) -> None:
    """Query the workflow's state."""
    from starter.client import connect
    from starter.ops import subscription_state

    async def go() -> Any:
        return await subscription_state(await connect(get_settings()), subscription_id)

    out.print_json(run(go()).model_dump_json())


@usage_app.command("add")
def usage_add(
    subscription_id: str,
    metric: str = typer.Option(...),
    quantity: str = typer.Option("1"),
    transaction_id: str = typer.Option(..., help="idempotency key of the event"),
    at: str = typer.Option(None, help="ISO 8601 instant with offset, e.g. 2026-12-01T10:00:00Z"),
) -> None:
    """Record one usage event (idempotent by transaction id)."""
    from models.accounts import AccountError, UsageEventCreate, record_usage

    try:
        event = UsageEventCreate(
            transaction_id=transaction_id,
            subscription_id=subscription_id,
            metric_code=metric,
            occurred_at=_instant(at) if at else datetime.now(UTC),
            quantity=Decimal(quantity),
        )
    except ValidationError as exc:
        raise fail(_first_error(exc)) from None
    except ArithmeticError:
        raise fail(f"--quantity: {quantity!r} is not a decimal number (e.g. 12.5)") from None
    db = _database()
    try:
        with db.transaction() as session:
            outcome = record_usage(session, event, datetime.now(UTC))
    except AccountError as exc:
        raise fail(str(exc)) from None
    out.print(f"event {transaction_id}: {outcome}")
    if outcome == "conflict":
        raise typer.Exit(1)


@cycle_app.command("run")
def bill_cycle_run(
    cycle_on: datetime = typer.Argument(..., formats=["%Y-%m-%d"], help="cycle date"),
    no_wait: bool = typer.Option(False, "--no-wait"),
) -> None:
    """Run (or join) the bill cycle of a date; running it twice creates nothing new."""
    from starter.client import connect
    from starter.ops import run_bill_cycle

    async def go() -> Any:
        return await run_bill_cycle(
            await connect(get_settings()), get_settings(), cycle_on.date(), wait=not no_wait
        )

    totals = run(go())
    out.print_json(totals.model_dump_json() if totals else '{"started": true}')


@dunning_app.command("show")
def dunning_show(invoice_id: str) -> None:
    """Current step of a dunning case."""
    from starter.client import connect
    from starter.ops import dunning_state

    async def go() -> Any:
        return await dunning_state(await connect(get_settings()), invoice_id)

    out.print_json(run(go()).model_dump_json())


@dunning_app.command("pay")
def dunning_pay(invoice_id: str, reference: str = typer.Option(...)) -> None:
    """Report a payment received outside the gateway; ends the dunning case."""
    from starter.client import connect
    from starter.ops import report_payment

    async def go() -> None:
        await report_payment(await connect(get_settings()), invoice_id, reference)

    run(go())
    out.print(f"payment {reference} reported for {invoice_id}")


@schedule_app.command("install")
def schedule_install(hour_utc: int = typer.Option(0, min=0, max=23)) -> None:
    """Create the Temporal Schedule that starts the due bill cycles daily."""
    from starter.client import connect
    from starter.ops import SCHEDULE_ID, install_schedule

    async def go() -> str:
        return await install_schedule(await connect(get_settings()), get_settings(), hour_utc)

    out.print(f"schedule {SCHEDULE_ID}: {run(go())}")


def _ensure_config_loaded(db: Any) -> None:
    from models.config_loader import ConfigError, load_config
    from models.repo_config import sync_config

    try:
        config = load_config(get_settings().config_dir, PROJECT_ROOT / "templates")
    except ConfigError as exc:
        raise fail(
            f"invalid configuration ({len(exc.problems)} problems); run `o2c config check`"
        ) from None
    with db.transaction() as session:
        sync_config(session, config, datetime.now(UTC))


def _instant(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise fail(
            f"--at: {text!r} is not an ISO 8601 instant (e.g. 2026-12-01T10:00:00Z)"
        ) from None


def _first_error(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "input"
    return f"{where}: {first['msg']}"


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


_ = date
