"""Shared workflow plumbing: search attributes, activity options, typed activity calls by name.

Workflows reference activities by their registered names, so they import no adapter or database
code (enforced by import-linter)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey, SearchAttributeUpdate

CUSTOMER_ID = SearchAttributeKey.for_keyword("CustomerId")
SUBSCRIPTION_ID = SearchAttributeKey.for_keyword("SubscriptionId")
INVOICE_ID = SearchAttributeKey.for_keyword("InvoiceId")
LEGAL_ENTITY = SearchAttributeKey.for_keyword("LegalEntity")
BILLING_STATUS = SearchAttributeKey.for_keyword("BillingStatus")
SEARCH_ATTRIBUTE_NAMES = (
    "CustomerId",
    "SubscriptionId",
    "InvoiceId",
    "LegalEntity",
    "BillingStatus",
)

RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
    maximum_attempts=30,
)

T = TypeVar("T")


async def call(
    name: str,
    arg: Any,
    result_type: type[T],
    *,
    timeout: timedelta = timedelta(minutes=2),
    heartbeat: timedelta | None = None,
) -> T:
    result: T = await workflow.execute_activity(
        name,
        arg,
        result_type=result_type,
        start_to_close_timeout=timeout,
        heartbeat_timeout=heartbeat,
        retry_policy=RETRY,
    )
    return result


def upsert(*updates: SearchAttributeUpdate[Any]) -> None:
    workflow.upsert_search_attributes(list(updates))


async def call_void(name: str, arg: Any, *, timeout: timedelta = timedelta(minutes=2)) -> None:
    await workflow.execute_activity(name, arg, start_to_close_timeout=timeout, retry_policy=RETRY)
