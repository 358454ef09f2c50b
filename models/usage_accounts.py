"""Who an event belongs to: subscriptions and accounts of a batch, loaded in a few set-based
queries and kept in memory for the next batches (for `ttl` seconds, so that new invoices and
cancelled subscriptions are seen)."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select

from models.tables import CustomerRow, InvoiceRow, SubscriptionRow
from models.usage_windows import invoiced_ranges

_CHUNK = 2000
_OPEN_PERIOD_DAYS = 62  # invoices whose usage period ended before now - late - this are ignored


@dataclass(frozen=True, slots=True)
class Account:
    customer_id: str
    timezone: str
    bill_cycle_day: int
    invoiced: tuple[tuple[str, str], ...]  # UTC text [start, end) of invoiced usage periods


@dataclass
class AccountCache:
    """Subscriptions -> customer, customers -> account and open subscriptions."""

    ttl_s: float = 60.0
    customer_of: dict[str, str] = field(default_factory=dict)
    accounts: dict[str, Account] = field(default_factory=dict)
    open_subscriptions: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # by customer: (time zone, bill-cycle day), which decide the accepted window
    window_key_of: dict[str, tuple[str, int]] = field(default_factory=dict)
    # by customer, only those with invoiced usage periods (events in them are late)
    invoiced_of: dict[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)
    loaded_at: float = field(default_factory=time.monotonic)

    def expire(self) -> None:
        if time.monotonic() - self.loaded_at > self.ttl_s:
            self.customer_of.clear()
            self.accounts.clear()
            self.open_subscriptions.clear()
            self.window_key_of.clear()
            self.invoiced_of.clear()
            self.loaded_at = time.monotonic()

    def load(
        self,
        conn: Connection,
        subscription_ids: set[str],
        customer_ids: set[str],
        invoiced_since: date,
    ) -> None:
        """Fetch what the batch names and the cache lacks (unknown ids stay unknown)."""
        missing_subs = list(subscription_ids - self.customer_of.keys())
        query = select(SubscriptionRow.id, SubscriptionRow.customer_id)
        for sub_id, customer_id in _rows(conn, query, SubscriptionRow.id, missing_subs):
            self.customer_of[sub_id] = customer_id
        self._load_open_subscriptions(conn, list(customer_ids - self.open_subscriptions.keys()))
        wanted = {self.customer_of[s] for s in missing_subs if s in self.customer_of}
        wanted |= customer_ids
        self._load_accounts(conn, list(wanted - self.accounts.keys()), invoiced_since)

    def _load_open_subscriptions(self, conn: Connection, customer_ids: list[str]) -> None:
        found: dict[str, list[str]] = {c: [] for c in customer_ids}
        stmt = select(SubscriptionRow.customer_id, SubscriptionRow.id).where(
            SubscriptionRow.status != "cancelled"
        )
        for customer_id, sub_id in _rows(conn, stmt, SubscriptionRow.customer_id, customer_ids):
            found[customer_id].append(sub_id)
        for customer_id, subs in found.items():
            self.open_subscriptions[customer_id] = tuple(sorted(subs))

    def _load_accounts(self, conn: Connection, customer_ids: list[str], since: date) -> None:
        invoiced: dict[str, list[tuple[date, date]]] = {c: [] for c in customer_ids}
        stmt = select(
            InvoiceRow.customer_id, InvoiceRow.usage_period_start, InvoiceRow.usage_period_end
        ).where(InvoiceRow.usage_period_end >= since)
        for customer_id, start, end in _rows(conn, stmt, InvoiceRow.customer_id, customer_ids):
            invoiced[customer_id].append((start, end))
        stmt = select(CustomerRow.id, CustomerRow.timezone, CustomerRow.bill_cycle_day)
        for customer_id, timezone, bcd in _rows(conn, stmt, CustomerRow.id, customer_ids):
            account = Account(
                customer_id=customer_id,
                timezone=timezone,
                bill_cycle_day=bcd,
                invoiced=invoiced_ranges(invoiced[customer_id], timezone),
            )
            self.accounts[customer_id] = account
            self.window_key_of[customer_id] = (timezone, bcd)
            if account.invoiced:
                self.invoiced_of[customer_id] = account.invoiced


def invoiced_since(now: datetime, late_window: timedelta) -> date:
    """Invoices whose usage period ended before this date cannot matter for accepted events."""
    return (now - late_window - timedelta(days=_OPEN_PERIOD_DAYS)).date()


def _rows(conn: Connection, stmt: Any, column: Any, keys: Sequence[str]) -> Iterable[Any]:
    for start in range(0, len(keys), _CHUNK):
        yield from conn.execute(stmt.where(column.in_(keys[start : start + _CHUNK]))).all()
