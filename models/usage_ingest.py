"""The one write path of usage events: validate each event, resolve its subscription, check the
accepted window, deduplicate by transaction id, and append a batch to the ingest journal.

Used by `record_usage` (one event, the caller's transaction), the CLI import (`ingest_stream`)
and `POST /v1/events` (batches through `UsageIngestor`). A bad event never fails its batch: it
is reported by index with the reason, and the valid events of the batch are stored. The dedup
keys and the batch's journal row are written in the same transaction, so an acknowledged event
is always countable; settling (`models/usage_settle.py`) moves journaled events into
`usage_events` before anything reads usage. Batches of the common shape are validated column
by column (`models/usage_fast.py`), the others event by event (`models/usage_values.py`).
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from operator import methodcaller

from sqlalchemy import Connection, select
from sqlalchemy.exc import IntegrityError

from models.config import ConfigSnapshot
from models.db import Database
from models.tables import CatalogVersionRow
from models.usage_accounts import Account, AccountCache, invoiced_since
from models.usage_checkpoint import WalCheckpointer
from models.usage_fast import FastBatch, fast_batch, fast_columns
from models.usage_store import (
    SQLITE_BULK_PRAGMAS,
    AppendParams,
    EventColumns,
    append_batch,
    append_params,
    existing_keys,
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
_GET_SUBSCRIPTION = methodcaller("get", "subscription_id")
_GET_CUSTOMER = methodcaller("get", "customer_id")


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


# (transaction_id, customer_id, subscription_id, metric_code, occurred_at, quantity_units,
#  quantity_nanos, properties json): a row of the journal columns
JournalRow = tuple[str, str, str, str, str, int, int, str]
# (index, transaction_id, content_hash, row, late) of an event that passed every check
_Candidate = tuple[int, str, int, JournalRow, bool]


@dataclass
class PreparedBatch:
    """A validated batch ready to write: its rejections so far, and its valid events either
    as fast-path columns or as per-event candidates."""

    result: IngestResult
    received: str  # canonical UTC text of `now`
    fast: FastBatch | None = None
    candidates: list[_Candidate] = field(default_factory=list)
    append: AppendParams | None = None  # SQLite, fast path: the append statement's parameters


def ingest_batch(
    conn: Connection,
    events: Sequence[object],
    policy: IngestPolicy,
    now: datetime,
    cache: AccountCache | None = None,
) -> IngestResult:
    """Validate and store one batch in the caller's transaction on `conn`."""
    prepared = prepare_batch(conn, events, policy, now, cache or AccountCache())
    return write_batch(conn, prepared)


def prepare_batch(
    conn: Connection,
    events: Sequence[object],
    policy: IngestPolicy,
    now: datetime,
    cache: AccountCache,
) -> PreparedBatch:
    """Validate a batch (reads accounts through `cache`, writes nothing)."""
    raw = fast_columns(events)
    if raw is None:
        subscription_ids, customer_ids = _named_ids(events)
    else:
        subscription_ids, customer_ids = set(raw.subscription_ids), set()
    cache.load(conn, subscription_ids, customer_ids, invoiced_since(now, policy.late_window))
    windows: dict[tuple[str, int], AcceptWindow] = {}
    prepared = PreparedBatch(IngestResult(), utc_text(now))
    if raw is not None:
        prepared.fast = fast_batch(
            raw,
            policy.metric_codes,
            cache.customer_of,
            cache.window_key_of,
            lambda key: _window_of(windows, key, now, policy).from_text,
            utc_text((now + policy.future_tolerance).astimezone(UTC)),
            cache.invoiced_of,
        )
    fast = prepared.fast
    if fast is None:
        prepared.candidates = _candidates(events, policy, now, cache, prepared.result, windows)
    elif conn.dialect.name == "sqlite":
        keys = list(zip(fast.columns[0], fast.hashes, strict=True))
        prepared.append = append_params(keys, fast.columns, prepared.received)
    return prepared


def write_batch(
    conn: Connection, prepared: PreparedBatch, fast_tried: bool = False
) -> IngestResult:
    """Store a prepared batch in the caller's transaction: new events are written, repeated
    ones counted as duplicates or conflicts. `prepared` is not changed (a retry can reuse it).
    `fast_tried`: the caller already found that the batch is not all new (skip that try)."""
    result = replace(prepared.result, errors=list(prepared.result.errors), conflicts=[])
    fast = prepared.fast
    candidates = prepared.candidates
    if fast is not None:
        keys = list(zip(fast.columns[0], fast.hashes, strict=True))
        received, append = prepared.received, prepared.append
        if not fast_tried and try_write_all(conn, keys, fast.columns, received, append):
            result.accepted, result.late = len(keys), sum(fast.late)
            return result
        rows: Iterable[JournalRow] = zip(*fast.columns, strict=True)
        candidates = [
            (index, tx, digest, row, late)
            for index, ((tx, digest), row, late) in enumerate(
                zip(keys, rows, fast.late, strict=True)
            )
        ]
    _store_new(conn, candidates, result, prepared.received)
    result.errors.sort(key=lambda problem: problem.index)
    return result


def _named_ids(events: Sequence[object]) -> tuple[set[str], set[str]]:
    """The subscription and customer ids a batch names (to load them in a few queries)."""
    objects = (
        events
        if set(map(type, events)) == {dict}
        else [e for e in events if isinstance(e, Mapping)]
    )
    subscription_ids = set(map(_GET_SUBSCRIPTION, objects))
    customer_ids = set(map(_GET_CUSTOMER, objects))
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
    windows: dict[tuple[str, int], AcceptWindow],
) -> list[_Candidate]:
    """Valid events of known subscriptions inside their accepted window, with their row."""
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
        window = _window_of(windows, (account.timezone, account.bill_cycle_day), now, policy)
        if at < window.from_text or at > window.until_text:
            result.reject(index, tx, window.problem(_instant(at)) or "")
            continue
        # sub is a str here: known from the cache, or resolved by _target
        row = (tx, account.customer_id, sub, metric, at, units, nanos, props)
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


def _window_of(
    windows: dict[tuple[str, int], AcceptWindow],
    key: tuple[str, int],
    now: datetime,
    policy: IngestPolicy,
) -> AcceptWindow:
    """The accepted window of accounts in time zone key[0] with bill-cycle day key[1]."""
    window = windows.get(key)
    if window is None:
        window = windows[key] = accept_window(
            key[0], key[1], now, policy.late_window, policy.future_tolerance
        )
    return window


def _store_new(
    conn: Connection, candidates: list[_Candidate], result: IngestResult, received: str
) -> None:
    """Split duplicates and conflicts (with the stored keys and within the batch); store the
    rest."""
    first_index: dict[str, int] = {}
    for candidate in candidates:
        first_index.setdefault(candidate[1], candidate[0])
    reference = existing_keys(conn, list(first_index))
    stored = set(reference)
    keys: list[tuple[str, int]] = []
    rows: list[JournalRow] = []
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
    if rows:
        write(conn, keys, _columns(rows), received)
    result.accepted += len(rows)


def _columns(rows: list[JournalRow]) -> EventColumns:
    columns = tuple(list(column) for column in zip(*rows, strict=True))
    return columns  # type: ignore[return-value]


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

    A batch is validated on a read connection (`prepare_batch`), then written in its own
    transaction (`write_batch`). On SQLite the write takes the lock first (BEGIN IMMEDIATE), so
    the dedup lookup and the insert see the same data; on PostgreSQL a concurrent writer of the
    same transaction id makes the insert fail, and the write is retried once (the retry sees
    the stored key). `ingest_stream` overlaps the two: batch N+1 is validated while batch N is
    written by a writer thread (SQLite and the PostgreSQL driver release the GIL while they
    work), and the writes stay in order."""

    def __init__(
        self,
        db: Database,
        policy: IngestPolicy,
        clock: Callable[[], datetime] | None = None,
        cache_ttl_s: float = 60.0,
        background_checkpoints: bool = False,
    ) -> None:
        """`background_checkpoints`: on SQLite, WAL checkpoints run on a thread of their own
        (`WalCheckpointer`) until `close()`; `ingest_stream` uses one while it runs anyway."""
        self.db = db
        self.policy = policy
        self.clock = clock or (lambda: datetime.now(UTC))
        self.cache = AccountCache(ttl_s=cache_ttl_s)
        sqlite = db.engine.dialect.name == "sqlite"
        self._checkpointer = WalCheckpointer(db.engine) if sqlite else None
        self._background_checkpoints = background_checkpoints and sqlite
        self._prepare_lock = threading.Lock()  # the account cache is shared
        self._write_lock = threading.Lock()  # one writer per process (SQLite has one anyway)

    def ingest(self, events: Sequence[object], now: datetime | None = None) -> IngestResult:
        """Validate and store one batch; returns once it is committed."""
        prepared = self._prepare(events, now or self.clock())
        with self._write_lock, self._writer_connection() as conn:
            return self._write(conn, prepared)

    def ingest_stream(
        self, batches: Iterable[Sequence[object]], now: datetime | None = None
    ) -> Iterator[IngestResult]:
        """Bulk ingest: the result of each batch, in order, once it is committed; the next
        batch is validated while the previous one is written (on one connection, held by the
        stream)."""
        with (
            self._write_lock,
            self._checkpoints_in_background(),
            self._writer_connection() as conn,
            ThreadPoolExecutor(1, thread_name_prefix="o2c-ingest-writer") as writer,
        ):
            pending: Future[IngestResult] | None = None
            for events in batches:
                prepared = self._prepare(events, now or self.clock())
                if pending is not None:
                    yield pending.result()
                pending = writer.submit(self._write, conn, prepared)
                time.sleep(0)  # hand the GIL to the writer now: it starts its SQLite call
            if pending is not None:
                yield pending.result()

    def close(self) -> None:
        """Stop the background checkpoints (after a last one)."""
        if self._checkpointer is not None:
            self._checkpointer.stop()

    @contextmanager
    def _checkpoints_in_background(self) -> Iterator[None]:
        if self._checkpointer is None or self._checkpointer.active:
            yield
            return
        self._checkpointer.start()
        try:
            yield
        finally:
            self._checkpointer.stop()

    def _prepare(self, events: Sequence[object], now: datetime) -> PreparedBatch:
        with self._prepare_lock, _without_cyclic_gc(), self.db.engine.connect() as conn:
            self.cache.expire()
            return prepare_batch(conn, events, self.policy, now, self.cache)

    @contextmanager
    def _writer_connection(self) -> Iterator[Connection]:
        """A connection for writes. On SQLite its driver is in autocommit mode meanwhile: a
        batch of new events is one statement (`append_batch`), and the other batches run in
        an explicit BEGIN IMMEDIATE transaction."""
        with self.db.engine.connect() as conn:
            if conn.dialect.name != "sqlite":
                yield conn
                return
            if self._background_checkpoints and self._checkpointer is not None:
                self._checkpointer.start()
            background = self._checkpointer is not None and self._checkpointer.active
            for pragma in SQLITE_BULK_PRAGMAS:
                conn.exec_driver_sql(pragma)
            conn.exec_driver_sql(f"PRAGMA wal_autocheckpoint={0 if background else 10000}")
            conn.commit()
            driver = conn.connection.driver_connection
            isolation_level = driver.isolation_level  # type: ignore[union-attr]
            driver.isolation_level = None  # type: ignore[union-attr]
            try:
                yield conn
            finally:
                driver.isolation_level = isolation_level  # type: ignore[union-attr]

    def _write(self, conn: Connection, prepared: PreparedBatch) -> IngestResult:
        fast, append = prepared.fast, prepared.append
        appended = False
        if fast is not None and append is not None and conn.dialect.name == "sqlite":
            if append_batch(conn.connection.driver_connection, append):
                return replace(prepared.result, accepted=append[1], late=sum(fast.late))
            appended = True  # tried: some transaction id is already stored
        try:
            return self._write_once(conn, prepared, appended)
        except (IntegrityError, self.db.engine.dialect.dbapi.IntegrityError):  # type: ignore[union-attr]
            return self._write_once(conn, prepared, appended)

    def _write_once(
        self, conn: Connection, prepared: PreparedBatch, fast_tried: bool
    ) -> IngestResult:
        with conn.begin():  # commits on success, rolls back on any error
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            return write_batch(conn, prepared, fast_tried)


@contextmanager
def _without_cyclic_gc() -> Iterator[None]:
    """Validation allocates many short-lived tuples and lists that reference counting frees;
    letting them trigger the cyclic collector (which then walks every live object of a large
    import) costs about a fifth of the ingest time. The collector resumes after the batch."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


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
