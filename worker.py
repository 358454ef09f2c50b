"""o2c worker: settings -> adapters -> activities; runs the Temporal worker.

Registers every workflow and activity on the configured task queue, with the pydantic data
converter. Activities are synchronous (database and SDK calls) and run in a thread pool of
``O2C_WORKER_MAX_CONCURRENT_ACTIVITIES``. SIGINT/SIGTERM stop polling and let running
activities finish (graceful shutdown).
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio.client import Client
from temporalio.worker import Worker

from activities.bill_cycle import BillCycleActivities
from activities.deps import Deps
from activities.dunning import ConfigActivities, DunningActivities
from activities.notices import NoticeActivities
from activities.payments import PaymentActivities
from activities.subscriptions import SubscriptionActivities
from activities.usage import UsageActivities
from models.config_loader import load_config
from models.db import Database, migrate
from models.repo_config import sync_config
from notifications.factory import build_notifier
from notifications.render import Renderer
from payments.factory import build_gateways
from settings import PROJECT_ROOT, Settings, get_settings
from starter.client import connect
from workflows.bill_cycle import BillCycleWorkflow, DueBillCyclesWorkflow
from workflows.dunning import DunningWorkflow
from workflows.subscription import SubscriptionWorkflow
from workflows.usage import UsageSettleWorkflow

WORKFLOWS: Sequence[type] = (
    SubscriptionWorkflow,
    BillCycleWorkflow,
    DueBillCyclesWorkflow,
    DunningWorkflow,
    UsageSettleWorkflow,
)


def build_deps(settings: Settings) -> Deps:
    """Migrate the database, load and sync the validated config, build the adapters."""
    url = settings.effective_database_url
    migrate(url)
    db = Database(url)
    config = load_config(settings.config_dir, PROJECT_ROOT / "templates")
    with db.transaction() as session:
        sync_config(session, config, datetime.now(UTC))
    gateways = build_gateways(
        stripe_api_key=settings.stripe_api_key.get_secret_value(),
        stripe_api_base=settings.stripe_api_base,
        adyen_api_key=settings.adyen_api_key.get_secret_value(),
        adyen_merchant_account=settings.adyen_merchant_account,
        adyen_environment=settings.adyen_environment,
        adyen_api_base=settings.adyen_api_base,
    )
    notifier = build_notifier(
        mode=settings.notifier,
        outbox_dir=settings.outbox_dir,
        sendgrid_api_key=settings.sendgrid_api_key.get_secret_value(),
        sendgrid_api_base=settings.sendgrid_api_base,
        email_from=settings.email_from,
        twilio_account_sid=settings.twilio_account_sid,
        twilio_auth_token=settings.twilio_auth_token.get_secret_value(),
        twilio_api_base=settings.twilio_api_base,
        sms_from=settings.sms_from,
    )
    return Deps(
        db=db,
        config=config,
        gateways=gateways,
        notifier=notifier,
        renderer=Renderer(PROJECT_ROOT / "templates"),
    )


def activities_of(deps: Deps) -> list[Callable[..., Any]]:
    subs = SubscriptionActivities(deps)
    cycle = BillCycleActivities(deps)
    pay = PaymentActivities(deps)
    dunning = DunningActivities(deps)
    return [
        subs.create_subscription,
        subs.subscription_snapshot,
        subs.end_trial,
        subs.roll_subscription_period,
        subs.change_subscription,
        subs.cancel_subscription,
        cycle.find_due_accounts,
        cycle.invoice_batch,
        cycle.collect_batch,
        pay.charge_invoice,
        pay.record_external_payment,
        dunning.open_dunning_case,
        dunning.start_dunning_step,
        dunning.apply_dunning_action,
        dunning.close_dunning_case,
        ConfigActivities(deps).dunning_ladder_for_entity,
        NoticeActivities(deps).send_notice,
        UsageActivities(deps).settle_usage,
    ]


def build_worker(
    client: Client, settings: Settings, deps: Deps, executor: ThreadPoolExecutor
) -> Worker:
    return Worker(
        client,
        task_queue=settings.task_queue,
        workflows=list(WORKFLOWS),
        activities=activities_of(deps),
        activity_executor=executor,
        max_concurrent_activities=settings.worker_max_concurrent_activities,
        max_concurrent_workflow_tasks=settings.worker_max_concurrent_workflow_tasks,
        graceful_shutdown_timeout=timedelta(seconds=30),
    )


async def run_worker(settings: Settings | None = None) -> None:
    settings = settings or get_settings()
    deps = build_deps(settings)
    client = await connect(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    with ThreadPoolExecutor(max_workers=settings.worker_max_concurrent_activities) as executor:
        worker = build_worker(client, settings, deps, executor)
        async with worker:
            print(
                f"o2c worker polling task queue {settings.task_queue!r} on "
                f"{settings.temporal_address} (namespace {settings.temporal_namespace})",
                flush=True,
            )
            await stop.wait()
    deps.db.dispose()


if __name__ == "__main__":
    asyncio.run(run_worker())
