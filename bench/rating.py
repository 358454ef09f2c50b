"""Benchmark: set-based usage aggregation over SQLite, and telco per-event rating.

    .venv/bin/python bench/rating.py [--events N] [--subscriptions M] [--calls K]

Defaults: 10,000,000 events over 100,000 subscriptions, 1,000,000 rated calls. Events are
generated inside a fresh SQLite database (one INSERT ... SELECT over a recursive CTE, in time
order with subscriptions interleaved, as a live stream arrives; the period index is built after
the load), then one period is aggregated across all subscriptions with
``models.usage_aggregate`` (a sum metric and a metric grouped by a JSON property) -> events/s.
Rating times ``billing.rating.Rater.rate`` over generated voice/data/SMS events (demo rate
table: prefixes, bands, increments 60/60 30/6 6/6 1/1, setup fees) on one core -> events/s.
Last line: ``aggregate_events_per_s=<n> rated_events_per_s=<n>``.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import yaml
from sqlalchemy import Index, text

from billing.metrics import MetricSpec
from billing.rating import Rater, RateTable
from models.config_rating import RateTableConfig
from models.db import Database
from models.tables import UsageEventRow
from models.usage_aggregate import aggregate_metric
from settings import PROJECT_ROOT

START = datetime(2026, 11, 1, tzinfo=UTC)
END = datetime(2026, 12, 1, tzinfo=UTC)
PERIOD_S = int((END - START).total_seconds())
SPECS = (MetricSpec("api_calls"), MetricSpec("egress_gb", group_by="region"))

_LOAD = """
WITH RECURSIVE seq(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM seq WHERE n < :events - 1)
INSERT INTO usage_events (transaction_id, customer_id, subscription_id, metric_code,
    occurred_at, quantity_units, quantity_nanos, properties, received_at)
SELECT 'tx-' || n,
       'cus-' || (((n * 2654435761) % 4294967296) / 256 % :subs),
       'sub-' || printf('%06d', ((n * 2654435761) % 4294967296) / 256 % :subs),
       CASE WHEN n % 5 < 3 THEN 'api_calls' ELSE 'egress_gb' END,
       strftime('%Y-%m-%d %H:%M:%S', :start + (n * :period) / :events, 'unixepoch') || '.000000',
       n % 7,
       CASE WHEN n % 3 = 0 THEN 0 ELSE (n * 104729) % 1000000000 END,
       json_object('region', CASE n % 4 WHEN 0 THEN 'us-east-1' WHEN 1 THEN 'eu-west-1'
                                        WHEN 2 THEN 'ap-south-1' ELSE 'us-west-2' END),
       '2026-12-01 00:00:00.000000'
FROM seq
"""


def load_events(db: Database, events: int, subscriptions: int) -> float:
    table = UsageEventRow.__table__
    table.create(db.engine)  # type: ignore[attr-defined]
    indexes: list[Index] = list(table.indexes)  # type: ignore[attr-defined]
    started = time.perf_counter()
    with db.engine.begin() as conn:
        for index in indexes:
            index.drop(conn)
        params = {"events": events, "subs": subscriptions, "start": int(START.timestamp())}
        conn.execute(text(_LOAD), {**params, "period": PERIOD_S})
        for index in indexes:
            index.create(conn)
        conn.execute(text("ANALYZE"))
    return time.perf_counter() - started


def bench_aggregate(db: Database, events: int) -> tuple[float, int]:
    """Aggregate every event of the period across all subscriptions; (events/s, totals)."""
    totals = 0
    started = time.perf_counter()
    with db.transaction() as session:
        for spec in SPECS:
            totals += len(aggregate_metric(session, spec, START, END))
    return events / (time.perf_counter() - started), totals


def demo_table() -> RateTable:
    path = PROJECT_ROOT / "config" / "rating" / "telco-demo.v1.yaml"
    return RateTableConfig.model_validate(yaml.safe_load(path.read_text("utf-8"))).to_core()


_VOICE = ("+336{:08d}", "+337{:08d}", "+331{:08d}", "+33800{:06d}", "+447{:09d}",
          "+442{:09d}", "+1415{:07d}", "+4915{:08d}", "+4930{:08d}")  # fmt: skip
_SMS = tuple(p for p in _VOICE if "800" not in p)


def generate_calls(count: int, seed: int = 7) -> list[tuple[str, str, int, int]]:
    """60 % voice (0-20 min, some unanswered), 20 % data sessions, 20 % SMS, over a month."""
    rng = random.Random(seed)
    start = int(START.timestamp())
    calls: list[tuple[str, str, int, int]] = []
    for _ in range(count):
        at = start + rng.randrange(PERIOD_S)
        kind = rng.random()
        if kind < 0.6:
            number = rng.choice(_VOICE).format(rng.randrange(10**6))
            calls.append(("voice", number, at, rng.choice((0, rng.randrange(1, 1200)))))
        elif kind < 0.8:
            calls.append(("data", "", at, rng.randrange(50_000_000)))
        else:
            calls.append(("sms", rng.choice(_SMS).format(rng.randrange(10**6)), at, 1))
    return calls


def bench_rating(calls: list[tuple[str, str, int, int]]) -> tuple[float, int]:
    rate = Rater(demo_table()).rate
    amount_nanos = 0
    started = time.perf_counter()
    for service, number, at_s, quantity in calls:
        amount_nanos += rate(service, number, at_s, quantity).amount_nanos
    return len(calls) / (time.perf_counter() - started), amount_nanos


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--subscriptions", type=int, default=100_000)
    parser.add_argument("--calls", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="o2c-bench-rating-") as tmp:
        db = Database(f"sqlite:///{Path(tmp) / 'bench.sqlite3'}")
        load_s = load_events(db, args.events, args.subscriptions)
        print(f"loaded {args.events:,} events over {args.subscriptions:,} subscriptions"
              f" in {load_s:.1f} s")  # fmt: skip
        aggregate_per_s, totals = bench_aggregate(db, args.events)
        print(f"aggregated {args.events:,} events into {totals:,} totals"
              f" (sum + sum grouped by region): {aggregate_per_s:,.0f} events/s")  # fmt: skip
        db.dispose()
    calls = generate_calls(args.calls)
    rated_per_s, amount_nanos = bench_rating(calls)
    print(f"rated {len(calls):,} voice/data/SMS events ({amount_nanos / 1e9:,.2f} EUR):"
          f" {rated_per_s:,.0f} events/s")  # fmt: skip
    print(f"aggregate_events_per_s={aggregate_per_s:.0f} rated_events_per_s={rated_per_s:.0f}")


if __name__ == "__main__":
    main()
