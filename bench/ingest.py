"""Usage ingestion benchmark: the real write path against raw DBAPI executemany.

    .venv/bin/python bench/ingest.py [--events N] [--subscriptions N] [--batch-size N]
                                     [--http] [--postgres | --database-url URL]

1. Fresh SQLite (WAL) database: N events (default 1,000,000) over 10,000 subscriptions, sent as
   wire events (dicts) in batches through `UsageIngestor` (validation, account resolution,
   accepted window, dedup, bulk insert); only the ingest calls are timed.
2. Same run, a second fresh SQLite database: the same rows (already converted) inserted with raw
   `sqlite3` `executemany` into the same usage_events table, committed per batch: the limit.
3. `--http`: the FastAPI app under uvicorn on loopback, batches of 10,000 posted as JSON.
4. `--postgres` (a throwaway database on 127.0.0.1:5432) or `--database-url`: the same ingest
   on PostgreSQL (partitioned table, COPY).
Last line: ingest_events_per_s=<n> raw_events_per_s=<n> ratio=<r> (the SQLite figures).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.ingest_data import METRICS, bench_now, event_batches, seed_accounts
from models.db import Database, migrate
from models.usage_ingest import IngestPolicy, UsageIngestor
from models.usage_store import EVENT_COLUMNS, SQLITE_BULK_PRAGMAS, EventTuple
from models.usage_values import parse_event, utc_text


def ingest_sqlite(db: Database, args: argparse.Namespace) -> tuple[float, int]:
    now = bench_now()
    subs = seed_accounts(db, args.subscriptions, now)
    ingestor = UsageIngestor(db, IngestPolicy(frozenset(METRICS)))
    elapsed, stored = 0.0, 0
    for batch in event_batches(subs, args.events, args.batch_size, now):
        started = time.perf_counter()
        result = ingestor.ingest(batch, now)
        elapsed += time.perf_counter() - started
        stored += result.accepted
        if result.accepted != len(batch):
            raise SystemExit(f"bench: unexpected result {result.errors[:3]} {result.conflicts[:3]}")
    return elapsed, stored


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
    for pragma in SQLITE_BULK_PRAGMAS:  # the same connection settings as the write path
        raw.cursor().execute(pragma)
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
        ingest_s, stored = ingest_sqlite(db, args)
        db.dispose()
        ingest_rate = stored / ingest_s
        print(f"sqlite ingest: {stored} events in {ingest_s:.2f} s = {ingest_rate:,.0f} events/s")
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

            rate = postgres_events_per_s(args)
            print(f"postgresql ingest (COPY, partitioned): {rate:,.0f} events/s")
    print(
        f"ingest_events_per_s={ingest_rate:.0f} raw_events_per_s={raw_rate:.0f}"
        f" ratio={ingest_rate / raw_rate:.2f}"
    )


if __name__ == "__main__":
    main()
