"""The one write path of usage events: validate each event, resolve its subscription, check the
accepted window, deduplicate by transaction id, and store a batch with bulk inserts.

Used by `record_usage` (one event, the caller's transaction), the CLI import and `POST /v1/events`
(batches through `UsageIngestor`). A bad event never fails its batch: it is reported by index
with the reason, and the valid events of the batch are stored. The dedup key and the event are
written in the same transaction, so an acknowledged event is always countable.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, select
from sqlalchemy.exc import IntegrityError

from models.config import ConfigSnapshot
from models.db import Database
from models.tables import CatalogVersionRow
from models.usage_accounts import Account, AccountCache, invoiced_since
from models.usage_store import (
    SQLITE_BULK_PRAGMAS,
    EventTuple,
    existing_keys,
    is_postgres,
    try_write_all,
    write,
)
from models.usage_values import (
    ParsedEvent,
    content_hash,
    parse_event,
    unknown_metric,
    utc_text,
)
from models.usage_windows import AcceptWindow, accept_window, is_invoiced

MAX_BATCH_EVENTS = 10_000


@dataclass(frozen=True)
class IngestPolicy:
    """What an event may name and when it may have happened."""

    metric_codes: frozenset[str]
    late_window: timedelta = timedelta(days=3)
    future_tolerance: timedelta = timedelta(seconds=300)

    @classmethod
    def from_config(
        cls, config: ConfigSnapshot, late_window_days: int, future_tolerance_s: int
    ) -> IngestPolicy:
        """The metrics of every catalog version of `config`, and the window from settings."""
        return cls(
            metric_codes_of(config),
            timedelta(days=late_window_days),
            timedelta(seconds=future_tolerance_s),
        )


@dataclass(frozen=True, slots=True)
class EventProblem:
    index: int  # position of the event in its batch (0-based)
    transaction_id: str | None
    reason: str


@dataclass
class IngestResult:
    """Per-batch outcome: accepted + duplicate + conflict + rejected == events sent."""

    accepted: int = 0
    duplicate: int = 0
    conflict: int = 0
    rejected: int = 0
    late: int = 0  # accepted events whose usage period was already invoiced
    errors: list[EventProblem] = field(default_factory=list)  # rejected events
    conflicts: list[EventProblem] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.accepted + self.duplicate + self.conflict + self.rejected

    def reject(self, index: int, transaction_id: str | None, reason: str) -> None:
        self.rejected += 1
        self.errors.append(EventProblem(index, transaction_id, reason))


# (index, transaction_id, content_hash, row, late) of an event that passed every check
_Candidate = tuple[int, str, int, EventTuple, bool]


def ingest_batch(
    conn: Connection,
    events: Sequence[object],
    policy: IngestPolicy,
    now: datetime,
    cache: AccountCache | None = None,
) -> IngestResult:
    """Validate and store one batch in the caller's transaction on `conn`."""
    result = IngestResult()
    cache = cache if cache is not None else AccountCache()
    subscription_ids, customer_ids = _named_ids(events)
    cache.load(conn, subscription_ids, customer_ids, invoiced_since(now, policy.late_window))
    candidates = _candidates(events, policy, now, cache, result)
    _store_new(conn, candidates, result)
    result.errors.sort(key=lambda problem: problem.index)
    return result


def _named_ids(events: Sequence[object]) -> tuple[set[str], set[str]]:
    """The subscription and customer ids a batch names (to load them in a few queries)."""
    objects = [e for e in events if isinstance(e, Mapping)]
    subscription_ids = {e.get("subscription_id") for e in objects}
    customer_ids = {e.get("customer_id") for e in objects if "customer_id" in e}
    return (
        {s for s in subscription_ids if type(s) is str},
        {c for c in customer_ids if type(c) is str},
    )


def _candidates(
    events: Sequence[object],
    policy: IngestPolicy,
    now: datetime,
    cache: AccountCache,
    result: IngestResult,
) -> list[_Candidate]:
    """Valid events of known subscriptions inside their accepted window, with their row."""
    received = utc_text(now)
    windows: dict[tuple[str, int], AcceptWindow] = {}
    metric_codes = policy.metric_codes
    customer_of = cache.customer_of
    accounts = cache.accounts
    candidates: list[_Candidate] = []
    for index, raw in enumerate(events):
        event = parse_event(raw)
        if isinstance(event, str):
            result.reject(index, _transaction_id_of(raw), event)
            continue
        tx, sub, customer_id, metric, at, units, nanos, props = event
        account = None
        if sub is not None and customer_id is None:
            customer_id = customer_of.get(sub)
            if customer_id is not None:
                account = accounts[customer_id]
        if account is None:
            target = _target(event, cache)
            if isinstance(target, str):
                result.reject(index, tx, target)
                continue
            account, sub = target
        if metric not in metric_codes:
            result.reject(index, tx, unknown_metric(metric, metric_codes))
            continue
        key = (account.timezone, account.bill_cycle_day)
        window = windows.get(key)
        if window is None:
            window = windows[key] = _window(account, now, policy)
        if at < window.from_text or at > window.until_text:
            result.reject(index, tx, window.problem(_instant(at)) or "")
            continue
        # sub is a str here: known from the cache, or resolved by _target
        row = (tx, account.customer_id, sub, metric, at, units, nanos, props, received)
        digest = content_hash(sub, metric, at, units, nanos, props)  # type: ignore[arg-type]
        late = bool(account.invoiced) and is_invoiced(at, account.invoiced)
        candidates.append((index, tx, digest, row, late))  # type: ignore[arg-type]
    return candidates


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _target(event: ParsedEvent, cache: AccountCache) -> tuple[Account, str] | str:
    """(account, subscription id) of an event, or why it names nothing billable."""
    subscription_id, named_customer = event[1], event[2]
    if subscription_id is None:
        return _by_customer(named_customer or "", cache)
    customer_id = cache.customer_of.get(subscription_id)
    if customer_id is None:
        return f"unknown subscription {subscription_id!r}"
    if named_customer is not None and named_customer != customer_id:
        return (
            f"subscription {subscription_id!r} belongs to customer {customer_id!r},"
            f" not {named_customer!r}"
        )
    return cache.accounts[customer_id], subscription_id


def _by_customer(customer_id: str, cache: AccountCache) -> tuple[Account, str] | str:
    account = cache.accounts.get(customer_id)
    if account is None:
        return f"unknown customer {customer_id!r}"
    subscriptions = cache.open_subscriptions.get(customer_id, ())
    if len(subscriptions) == 1:
        return account, subscriptions[0]
    if not subscriptions:
        return f"customer {customer_id!r} has no subscription that is not cancelled"
    return (
        f"customer {customer_id!r} has {len(subscriptions)} subscriptions "
        f"({', '.join(subscriptions)}): send subscription_id to say which one"
    )


def _window(account: Account, now: datetime, policy: IngestPolicy) -> AcceptWindow:
    return accept_window(
        account.timezone,
        account.bill_cycle_day,
        now,
        policy.late_window,
        policy.future_tolerance,
    )


def _store_new(conn: Connection, candidates: list[_Candidate], result: IngestResult) -> None:
    """Split duplicates and conflicts (with the stored keys and within the batch); store the
    rest."""
    first_index: dict[str, int] = {}
    for candidate in candidates:
        first_index.setdefault(candidate[1], candidate[0])
    if len(first_index) == len(candidates) and is_postgres(conn) and candidates:
        new_keys = [(tx, digest) for _, tx, digest, _, _ in candidates]
        if try_write_all(conn, new_keys, [row for _, _, _, row, _ in candidates]):
            result.accepted += len(candidates)
            result.late += sum(late for *_, late in candidates)
            return
    reference = existing_keys(conn, list(first_index))
    stored = set(reference)
    keys: list[tuple[str, int]] = []
    rows: list[EventTuple] = []
    for index, tx, digest, row, late in candidates:
        known = reference.get(tx)
        if known is None:
            reference[tx] = digest
            keys.append((tx, digest))
            rows.append(row)
            result.late += late
        elif known == digest:
            result.duplicate += 1
        else:
            result.conflict += 1
            result.conflicts.append(_conflict(index, tx, tx in stored, first_index[tx]))
    write(conn, keys, rows)
    result.accepted += len(rows)


def _conflict(index: int, tx: str, stored: bool, first_index: int) -> EventProblem:
    if stored:
        reason = (
            f"transaction_id {tx!r} is already stored with other content (subscription, metric,"
            " timestamp, quantity or properties differ); a new event needs a new transaction_id"
        )
    else:
        reason = (
            f"transaction_id {tx!r} is also used by event {first_index} of this batch with"
            " other content; a new event needs a new transaction_id"
        )
    return EventProblem(index, tx, reason)


def _transaction_id_of(raw: object) -> str | None:
    if isinstance(raw, Mapping):
        value = raw.get("transaction_id")
        return value if isinstance(value, str) else None
    return None


class UsageIngestor:
    """Batches on a Database: one transaction per batch, accounts cached between batches.

    On SQLite the batch takes the write lock first (BEGIN IMMEDIATE), so the dedup lookup and
    the insert see the same data; on PostgreSQL a concurrent writer of the same transaction id
    makes the insert fail, and the batch is retried once (the retry sees the stored key)."""

    def __init__(
        self,
        db: Database,
        policy: IngestPolicy,
        clock: Callable[[], datetime] | None = None,
        cache_ttl_s: float = 60.0,
    ) -> None:
        self.db = db
        self.policy = policy
        self.clock = clock or (lambda: datetime.now(UTC))
        self.cache = AccountCache(ttl_s=cache_ttl_s)
        self._lock = threading.Lock()  # one batch at a time per process: the cache is shared

    def ingest(self, events: Sequence[object], now: datetime | None = None) -> IngestResult:
        with self._lock:
            self.cache.expire()
            try:
                return self._ingest_once(events, now or self.clock())
            except (IntegrityError, self.db.engine.dialect.dbapi.IntegrityError):  # type: ignore[union-attr]
                return self._ingest_once(events, now or self.clock())

    def _ingest_once(self, events: Sequence[object], now: datetime) -> IngestResult:
        with self.db.engine.connect() as conn:
            sqlite = conn.dialect.name == "sqlite"
            if sqlite:
                for pragma in SQLITE_BULK_PRAGMAS:
                    conn.exec_driver_sql(pragma)
                conn.commit()
            with conn.begin():  # commits on success, rolls back on any error
                if sqlite:
                    conn.exec_driver_sql("BEGIN IMMEDIATE")
                return ingest_batch(conn, events, self.policy, now, self.cache)


def metric_codes_of(snapshot: ConfigSnapshot) -> frozenset[str]:
    """Every metric code declared in any catalog version of a config snapshot."""
    return frozenset(metric.code for catalog in snapshot.catalogs for metric in catalog.metrics)


def stored_metric_codes(conn: Connection) -> frozenset[str]:
    """Every metric code of the catalog versions loaded in the database."""
    snapshots = conn.execute(select(CatalogVersionRow.snapshot)).scalars()
    metrics: list[dict[str, object]] = [
        metric
        for snapshot in snapshots
        for metric in snapshot.get("metrics") or ()  # type: ignore[attr-defined]
    ]
    return frozenset(str(metric["code"]) for metric in metrics)
