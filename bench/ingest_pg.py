"""PostgreSQL leg of the ingestion benchmark: the same bulk write path (keys by COPY, the
journal), then settling (COPY into the monthly partitions), on a throwaway database
(`--postgres`: created on 127.0.0.1:5432 and dropped at the end) or on `--database-url` (an
empty database; the bench accounts and events stay there)."""

from __future__ import annotations

import argparse
import os
import time

import psycopg
from sqlalchemy.engine import make_url

from bench.ingest_data import METRICS, bench_now, event_batches, seed_accounts
from models.db import Database, migrate
from models.usage_ingest import IngestPolicy, UsageIngestor
from models.usage_settle import settle_usage

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def postgres_events_per_s(args: argparse.Namespace) -> tuple[float, float]:
    """(ingest events/s, settle events/s)."""
    if args.database_url:
        return _ingest(args.database_url, args)
    name = f"o2c_bench_{os.getpid()}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        url = make_url(f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}")
        return _ingest(url.render_as_string(hide_password=False), args)
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _ingest(url: str, args: argparse.Namespace) -> tuple[float, float]:
    migrate(url)
    db = Database(url)
    try:
        now = bench_now()
        subs = seed_accounts(db, args.subscriptions, now)
        ingestor = UsageIngestor(db, IngestPolicy(frozenset(METRICS)))
        batches = list(event_batches(subs, args.events, args.batch_size, now, seed=13))
        started = time.perf_counter()
        stored = sum(result.accepted for result in ingestor.ingest_stream(batches, now))
        elapsed = time.perf_counter() - started
        started = time.perf_counter()
        settled = settle_usage(db)
        settle_s = time.perf_counter() - started
    finally:
        db.dispose()
    if stored != args.events or settled != stored:
        raise SystemExit(f"bench: PostgreSQL stored {stored}, settled {settled} of {args.events}")
    return stored / elapsed, settled / settle_s
