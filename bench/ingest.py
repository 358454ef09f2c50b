"""Usage ingestion benchmark: the real write path against raw DBAPI executemany.

    .venv/bin/python bench/ingest.py [--events N] [--subscriptions N] [--batch-size N]
                                     [--http] [--postgres | --database-url URL]

1. Fresh SQLite (WAL) database: N events (default 1,000,000) over 10,000 subscriptions, sent as
   wire events (dicts) in batches through `UsageIngestor.ingest_stream`, the bulk path of
   `o2c usage import` (validation, account resolution, accepted window, dedup keys, journal;
   batch N+1 validated while batch N is written). The events are generated before timing.
2. The same with `UsageIngestor.ingest`, one synchronous batch at a time (what one API
   request gets), into a second fresh database.
3. Settling the first database: the journaled events into usage_events and its period index
   (deferred from ingest, done before usage is read; reported, not part of the ingest figure).
4. Raw: the same rows (already converted) inserted with `sqlite3` `executemany` into a fresh
   usage_events table without its period index (an append, as the journal is), committed per
   batch: the DBAPI limit of storing each event once.
5. `--http`: the FastAPI app under uvicorn on loopback, batches posted as JSON.
6. `--postgres` (a throwaway database on 127.0.0.1:5432) or `--database-url`: the same bulk
   ingest on PostgreSQL (COPY), and its settle (partitioned table).
Last line: ingest_events_per_s=<n> raw_events_per_s=<n> ratio=<r> (SQLite, bulk path).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.ingest_data import METRICS, bench_now, event_batches, seed_accounts
from models.db import Database, migrate
from models.usage_checkpoint import WalCheckpointer
from models.usage_ingest import IngestPolicy, IngestResult, UsageIngestor
from models.usage_settle import settle_usage
from models.usage_store import EVENT_COLUMNS, SQLITE_BULK_PRAGMAS, EventTuple
from models.usage_values import parse_event, utc_text


def ingest_sqlite(db: Database, args: argparse.Namespace, stream: bool) -> tuple[float, int]:
    """Seconds spent ingesting (event generation excluded) and events stored."""
    now = bench_now()
    subs = seed_accounts(db, args.subscriptions, now)
    ingestor = UsageIngestor(db, IngestPolicy(frozenset(METRICS)))
    batches = list(event_batches(subs, args.events, args.batch_size, now))  # not timed
    stored = 0
    started = time.perf_counter()
    if stream:
        results: Iterator[IngestResult] = ingestor.ingest_stream(batches, now)
    else:
        results = (ingestor.ingest(batch, now) for batch in batches)
    for result in results:
        stored += result.accepted
        if result.total != result.accepted:
            raise SystemExit(f"bench: unexpected result {result.errors[:3]} {result.conflicts[:3]}")
    return time.perf_counter() - started, stored


def raw_rows(batch: list[dict[str, object]], received: str) -> list[EventTuple]:
    """The rows the write path stores for `batch`, built outside the timed section."""
    rows: list[EventTuple] = []
    for raw in batch:
        event = parse_event(raw)
        assert not isinstance(event, str), event
        tx, sub, _, metric, at, units, nanos, props = event
        sub = sub or ""
        rows.append((tx, f"cust-{sub[4:]}", sub, metric, at, units, nanos, props, received))
    return rows


def raw_sqlite(db: Database, args: argparse.Namespace) -> float:
    now = bench_now()
    subs = [f"sub-{n:06d}" for n in range(args.subscriptions)]
    sql = (
        f"INSERT INTO usage_events ({', '.join(EVENT_COLUMNS)}) "
        f"VALUES ({', '.join('?' for _ in EVENT_COLUMNS)})"
    )
    raw = db.engine.raw_connection()
    raw.cursor().execute("DROP INDEX ix_usage_events_period")  # an append, as the journal is
    for pragma in SQLITE_BULK_PRAGMAS:  # the same connection settings as the write path
        raw.cursor().execute(pragma)
    raw.cursor().execute("PRAGMA wal_autocheckpoint=0")  # and the same background checkpoints
    checkpointer = WalCheckpointer(db.engine)
    checkpointer.start()
    elapsed = 0.0
    try:
        for batch in event_batches(subs, args.events, args.batch_size, now):
            rows = raw_rows(batch, utc_text(now))
            started = time.perf_counter()
            cursor = raw.cursor()
            cursor.executemany(sql, rows)
            raw.commit()
            elapsed += time.perf_counter() - started
    finally:
        checkpointer.stop()
        raw.close()
    return elapsed


def fresh_sqlite(folder: Path, name: str) -> Database:
    url = f"sqlite:///{folder / name}"
    migrate(url)
    return Database(url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--subscriptions", type=int, default=10_000)
    parser.add_argument("--batch-size", type=int, default=10_000)
    parser.add_argument("--http", action="store_true", help="also the HTTP batch path")
    parser.add_argument("--postgres", action="store_true", help="also PostgreSQL on :5432")
    parser.add_argument("--database-url", default="", help="also this PostgreSQL database")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="o2c-bench-") as tmp:
        folder = Path(tmp)
        db = fresh_sqlite(folder, "ingest.sqlite3")
        ingest_s, stored = ingest_sqlite(db, args, stream=True)
        ingest_rate = stored / ingest_s
        print(f"sqlite bulk ingest: {stored} events in {ingest_s:.2f} s = {ingest_rate:,.0f}/s")
        started = time.perf_counter()
        settled = settle_usage(db)
        settle_s = time.perf_counter() - started
        db.dispose()
        print(
            f"sqlite settle (into usage_events + period index): {settled} events in"
            f" {settle_s:.2f} s = {settled / settle_s:,.0f}/s;"
            f" ingest then settle: {stored / (ingest_s + settle_s):,.0f}/s"
        )
        one_db = fresh_sqlite(folder, "one.sqlite3")
        one_s, one_stored = ingest_sqlite(one_db, args, stream=False)
        one_db.dispose()
        print(
            f"sqlite ingest, one synchronous batch at a time: {one_stored} events in {one_s:.2f} s"
            f" = {one_stored / one_s:,.0f}/s"
        )
        raw_db = fresh_sqlite(folder, "raw.sqlite3")
        raw_s = raw_sqlite(raw_db, args)
        raw_db.dispose()
        raw_rate = args.events / raw_s
        print(f"sqlite raw executemany: {args.events} rows in {raw_s:.2f} s = {raw_rate:,.0f}/s")
        if args.http:
            from bench.ingest_http import http_events_per_s

            rate = http_events_per_s(fresh_sqlite(folder, "http.sqlite3"), args)
            print(f"http POST /v1/events (sqlite, batches of {args.batch_size}): {rate:,.0f}/s")
        if args.postgres or args.database_url:
            from bench.ingest_pg import postgres_events_per_s

            rate, settle_rate = postgres_events_per_s(args)
            print(f"postgresql bulk ingest (COPY): {rate:,.0f} events/s")
            print(f"postgresql settle (partitioned usage_events): {settle_rate:,.0f} events/s")
    print(
        f"ingest_events_per_s={ingest_rate:.0f} raw_events_per_s={raw_rate:.0f}"
        f" ratio={ingest_rate / raw_rate:.2f}"
    )


if __name__ == "__main__":
    main()
