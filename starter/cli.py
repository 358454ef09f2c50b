"""`o2c` command line: server, worker, demo, config check, customers, subscriptions, usage,
bill cycles, dunning and the daily schedule. Bad input gets one clear line and exit code 2."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Coroutine
from datetime import UTC, date, datetime, timedelta
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
schedule_app = typer.Typer(
    no_args_is_help=True, help="The daily bill-cycle and usage-settle schedules"
)
invoice_app = typer.Typer(no_args_is_help=True, help="Invoices")
for sub, name in (
    (config_app, "config"),
    (customer_app, "customer"),
    (subscription_app, "subscription"),
    (usage_app, "usage"),
    (cycle_app, "bill-cycle"),
    (dunning_app, "dunning"),
    (schedule_app, "schedule"),
    (invoice_app, "invoice"),
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


@app.command()
def price(
    plan: str = typer.Option(None, help="plan code (or give `charge:` in --input)"),
    currency: str = typer.Option(None, help="ISO 4217 code the plan is sold in"),
    period_start: datetime = typer.Option(None, formats=["%Y-%m-%d"]),
    period_end: datetime = typer.Option(None, formats=["%Y-%m-%d"], help="default: plan period"),
    catalog: Path = typer.Option(None, help="catalog YAML (default: the one in force)"),
    seats: int = typer.Option(None, min=0, help="quantity for per-seat fees (default 1)"),
    usage: list[str] = typer.Option(None, help="METRIC=QUANTITY, repeatable"),
    transactions: list[str] = typer.Option(None, help="METRIC=AMOUNT,AMOUNT,..., repeatable"),
    coupon: list[str] = typer.Option(None, help="coupon code of the catalog, repeatable"),
    credits: str = typer.Option(None, help="prepaid credit balance, e.g. 25.00"),
    bill_cycle_day: int = typer.Option(None, help="calendar alignment day (default 1)"),
    input_file: Path = typer.Option(None, "--input", help="YAML/JSON file with these keys"),
) -> None:
    """Preview a plan's (or one charge's) invoice lines from catalog YAML, as JSON."""
    from starter.price import PriceInputError, run_price

    options = {
        "plan": plan, "currency": currency, "catalog": catalog, "seats": seats,
        "period_start": period_start.date().isoformat() if period_start else None,
        "period_end": period_end.date().isoformat() if period_end else None,
        "usage": usage, "transactions": transactions, "coupons": coupon, "credits": credits,
        "bill_cycle_day": bill_cycle_day,
    }  # fmt: skip
    try:
        print(run_price(options, input_file, get_settings().config_dir))
    except PriceInputError as exc:
        raise fail(str(exc)) from None


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


def _change(subscription_id: str, update: str, request: Any, request_id: str | None) -> None:
    from starter.client import connect
    from starter.ops import update_subscription

    async def go() -> Any:
        client = await connect(get_settings())
        return await update_subscription(client, subscription_id, update, request, request_id)

    out.print_json(run(go()).model_dump_json())


_REQUEST_ID = typer.Option(
    None, "--request-id", help="business key: the same id twice is one change"
)
_TIMING = typer.Option("policy", help="policy (the plan's change_policy), immediate or end_of_term")


@subscription_app.command("change-plan")
def subscription_change_plan(
    subscription_id: str,
    plan: str = typer.Option(...),
    quantity: int = typer.Option(None, min=1),
    timing: str = _TIMING,
    request_id: str = _REQUEST_ID,
) -> None:
    """Move to another plan; prints the proration credited/charged on the next invoice."""
    from models.contracts import ChangePlanRequest

    request = _contract(ChangePlanRequest, plan_code=plan, quantity=quantity, timing=timing)
    _change(subscription_id, "change_plan", request, request_id)


@subscription_app.command("change-quantity")
def subscription_change_quantity(
    subscription_id: str,
    quantity: int = typer.Option(..., min=1),
    timing: str = _TIMING,
    request_id: str = _REQUEST_ID,
) -> None:
    """Change the number of seats; prints the proration."""
    from models.contracts import ChangeQuantityRequest

    request = _contract(ChangeQuantityRequest, quantity=quantity, timing=timing)
    _change(subscription_id, "change_quantity", request, request_id)


@subscription_app.command("pause")
def subscription_pause(subscription_id: str, request_id: str = _REQUEST_ID) -> None:
    """Pause: nothing is billed while paused; the unused part of the period is credited."""
    from models.contracts import PauseRequest

    _change(subscription_id, "pause", PauseRequest(), request_id)


@subscription_app.command("resume")
def subscription_resume(subscription_id: str, request_id: str = _REQUEST_ID) -> None:
    """Resume a paused subscription; the rest of the period is charged."""
    from models.contracts import ResumeRequest

    _change(subscription_id, "resume", ResumeRequest(), request_id)


@subscription_app.command("reactivate")
def subscription_reactivate(subscription_id: str, request_id: str = _REQUEST_ID) -> None:
    """Undo a cancellation (pending at period end, or already effective)."""
    from starter.client import connect
    from starter.ops import reactivate_subscription

    async def go() -> Any:
        settings = get_settings()
        client = await connect(settings)
        return await reactivate_subscription(client, settings, subscription_id, request_id)

    out.print_json(run(go()).model_dump_json())


@subscription_app.command("apply-coupon")
def subscription_apply_coupon(
    subscription_id: str, coupon: str = typer.Option(...), request_id: str = _REQUEST_ID
) -> None:
    """Redeem a catalog coupon; it applies from the next invoice."""
    from models.contracts import ApplyCouponRequest

    _change(subscription_id, "apply_coupon", ApplyCouponRequest(coupon_code=coupon), request_id)


def _contract(model: type[T], **fields: Any) -> T:
    try:
        return model.model_validate(fields)  # type: ignore[attr-defined,no-any-return]
    except ValidationError as exc:
        problem = exc.errors()[0]
        field = ".".join(str(part) for part in problem["loc"])
        raise fail(f"{field}: {problem['msg']}") from None


@subscription_app.command("preview")
def subscription_preview(
    subscription_id: str,
    on: datetime = typer.Option(None, formats=["%Y-%m-%d"], help="from this date (default today)"),
) -> None:
    """The next invoice of the subscription's account, as it would be issued (dry run)."""
    from models.repo_drafts import preview_next_invoice
    from models.tables import CustomerRow, SubscriptionRow
    from models.usage_settle import settle_usage

    config = _config()
    db = _database()
    settle_usage(db)  # journaled usage into usage_events, so the dry run below writes nothing
    with db.transaction() as session:
        sub = session.get(SubscriptionRow, subscription_id)
        if sub is None:
            raise fail(f"unknown subscription {subscription_id!r}")
        customer = session.get(CustomerRow, sub.customer_id)
        assert customer is not None
        day = on.date() if on else datetime.now(UTC).astimezone(_zone(customer.timezone)).date()
        preview = preview_next_invoice(session, config, customer, day, datetime.now(UTC))
        session.rollback()  # a dry run writes nothing
    out.print_json(preview.model_dump_json())


def _config() -> Any:
    from models.config_loader import ConfigError, load_config

    try:
        return load_config(get_settings().config_dir)
    except ConfigError as exc:
        raise fail(
            f"invalid configuration ({len(exc.problems)} problems): run `o2c config check`"
        ) from None


def _zone(name: str) -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


@subscription_app.command("show")
def subscription_show(subscription_id: str) -> None:
    """Query the workflow's state."""
    from starter.client import connect
    from starter.ops import subscription_state

    async def go() -> Any:
        return await subscription_state(await connect(get_settings()), subscription_id)

    out.print_json(run(go()).model_dump_json())


@usage_app.command("current")
def usage_current(subscription_id: str) -> None:
    """Usage of the open period to date and its estimated charge."""
    from models.repo_drafts import current_usage
    from models.tables import SubscriptionRow
    from models.usage_settle import settle_usage

    config = _config()
    db = _database()
    settle_usage(db)
    with db.transaction() as session:
        sub = session.get(SubscriptionRow, subscription_id)
        if sub is None:
            raise fail(f"unknown subscription {subscription_id!r}")
        found = current_usage(session, config, sub, datetime.now(UTC))
        session.rollback()
    out.print_json(
        data={
            "subscription_id": found.subscription_id,
            "currency": found.currency,
            "period_start": found.period_start.isoformat(),
            "period_end": found.period_end.isoformat(),
            "as_of": found.as_of.isoformat(),
            "usage": [
                {"metric": u.metric_code, "group": u.group, "quantity": str(u.quantity)}
                for u in found.usage
            ],
            "lines": [
                {"description": line.description, "quantity": str(line.quantity),
                 "amount": str(line.amount), "amount_minor": line.amount_minor}
                for line in found.lines
            ],
            "estimated_minor": found.estimated_minor,
        }
    )  # fmt: skip


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
    from models.usage_ingest import metric_codes_of

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
    settings = get_settings()
    codes = metric_codes_of(_config())
    db = _database()
    try:
        with db.transaction() as session:
            outcome = record_usage(
                session,
                event,
                datetime.now(UTC),
                metric_codes=codes,
                late_window=timedelta(days=settings.usage_late_window_days),
                future_tolerance=timedelta(seconds=settings.usage_future_tolerance_s),
            )
    except AccountError as exc:
        raise fail(str(exc)) from None
    out.print(f"event {transaction_id}: {outcome}")
    if outcome == "conflict":
        raise typer.Exit(1)


@usage_app.command("import")
def usage_import(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV or JSONL, or .gz"),
    file_format: str = typer.Option(None, "--format", help="csv or jsonl (default: file suffix)"),
    batch_size: int = typer.Option(10_000, "--batch-size", min=1, max=100_000),
    no_settle: bool = typer.Option(
        False, "--no-settle", help="leave the events journaled (the next reader settles them)"
    ),
) -> None:
    """Import usage events from a file (docs/ingestion.md); exit 1 if some were rejected."""
    from starter.usage_import import run_import

    if file_format not in (None, "csv", "jsonl"):
        raise fail(f"--format: {file_format!r} is not csv or jsonl")
    code = run_import(get_settings(), file, file_format, batch_size, settle=not no_settle)  # type: ignore[arg-type]
    raise typer.Exit(code)


@usage_app.command("settle")
def usage_settle() -> None:
    """Move journaled usage events into usage_events (what billing reads) now."""
    from models.usage_settle import pending_events, settle_usage

    db = _database()
    with db.engine.connect() as conn:
        pending = pending_events(conn)
    moved = settle_usage(db)
    out.print(f"settled {moved} events ({pending} were pending)")


@app.command("api")
def api_serve(
    host: str = typer.Option(None, help="default: O2C_API_HOST (127.0.0.1)"),
    port: int = typer.Option(None, help="default: O2C_API_PORT (8000)"),
) -> None:
    """Serve the REST API (POST /v1/events; API keys from O2C_API_KEYS) with uvicorn."""
    from api.app import serve
    from models.config_loader import ConfigError

    settings = get_settings()
    try:
        serve(settings, host or settings.api_host, port or settings.api_port)
    except ConfigError as exc:
        raise fail(
            f"invalid configuration ({len(exc.problems)} problems); run `o2c config check`"
        ) from None


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
    """Create the Temporal Schedules: the due bill cycles daily, and settling the usage journal
    every O2C_USAGE_SETTLE_INTERVAL_MIN minutes."""
    from starter.client import connect
    from starter.ops import (
        SCHEDULE_ID,
        SETTLE_SCHEDULE_ID,
        install_schedule,
        install_settle_schedule,
    )

    async def go() -> tuple[str, str]:
        client = await connect(get_settings())
        daily = await install_schedule(client, get_settings(), hour_utc)
        return daily, await install_settle_schedule(client, get_settings())

    daily, settle = run(go())
    out.print(f"schedule {SCHEDULE_ID}: {daily}")
    out.print(f"schedule {SETTLE_SCHEDULE_ID}: {settle}")


@invoice_app.command("usage-export")
def invoice_usage_export(
    invoice_id: str,
    out_file: Path = typer.Option(None, "--out", help="CSV file to write (default: stdout)"),
) -> None:
    """Every rated event (calls, data, SMS) of an invoice's usage period, as CSV."""
    from models.rating_repo import UnknownInvoiceError
    from starter.usage_export import export_usage

    try:
        count = export_usage(_database(), invoice_id, out_file)
    except UnknownInvoiceError as exc:
        raise fail(str(exc)) from None
    if out_file is not None:
        out.print(f"{count} rated events written to {out_file}")


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
