"""Memory of a large file import: write N events (default 10,000,000) as a gzipped JSONL (or
CSV) file, import it with the function behind `o2c usage import` into a fresh SQLite database,
settle it into usage_events as the command does, and report the peak resident memory of the
process (target: under 500 MB).

    .venv/bin/python bench/import_memory.py [--events N] [--format jsonl|csv] [--batch-size N]

Last line: import_events=<n> import_events_per_s=<n> settle_events_per_s=<n> peak_rss_mb=<m>
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import resource
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import orjson

from bench.ingest_data import METRICS, bench_now, event_batches, seed_accounts
from models.db import Database, migrate
from models.usage_ingest import IngestPolicy, UsageIngestor
from models.usage_settle import settle_usage
from starter.usage_import import import_file


def write_file(path: Path, subs: list[str], events: int, file_format: str) -> None:
    """Stream the events to a gzipped file, one batch in memory at a time."""
    now = bench_now()
    with gzip.open(path, "wb", compresslevel=1) as out:
        if file_format == "jsonl":
            for batch in event_batches(subs, events, 10_000, now, seed=17):
                out.write(b"".join(orjson.dumps(event) + b"\n" for event in batch))
            return
        text = io.TextIOWrapper(out, encoding="utf-8", newline="")
        writer = csv.writer(text)
        writer.writerow(["transaction_id", "subscription_id", "metric", "timestamp", "quantity",
                         "prop.region"])  # fmt: skip
        for batch in event_batches(subs, events, 10_000, now, seed=17):
            writer.writerows(
                [e["transaction_id"], e["subscription_id"], e["metric"], e["timestamp"],
                 e["quantity"], (e.get("properties") or {}).get("region", "")]  # type: ignore[attr-defined]
                for e in batch
            )  # fmt: skip
        text.flush()
        text.detach()


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--subscriptions", type=int, default=10_000)
    parser.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    parser.add_argument("--batch-size", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="o2c-bench-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'import.sqlite3'}"
        migrate(url)
        db = Database(url)
        subs = seed_accounts(db, args.subscriptions, bench_now())
        path = Path(tmp) / f"events.{args.format}.gz"
        started = time.perf_counter()
        write_file(path, subs, args.events, args.format)
        size_mb = path.stat().st_size / 2**20
        took = time.perf_counter() - started
        print(f"wrote {args.events} events ({size_mb:.0f} MB gzipped) in {took:.0f} s", flush=True)
        ingestor = UsageIngestor(db, IngestPolicy(frozenset(METRICS)))
        started = time.perf_counter()
        report = import_file(ingestor, path, args.format, args.batch_size)
        elapsed = time.perf_counter() - started
        started = time.perf_counter()
        settled = settle_usage(db)
        settle_s = time.perf_counter() - started
        db.dispose()
    for line in report.lines():
        print(line)
    if report.accepted != args.events:
        raise SystemExit(f"bench: imported {report.accepted} of {args.events} events")
    if settled != report.accepted:
        raise SystemExit(f"bench: settled {settled} of {report.accepted} events")
    print(
        f"import_events={report.accepted} import_events_per_s={report.accepted / elapsed:.0f}"
        f" settle_events_per_s={settled / settle_s:.0f} peak_rss_mb={peak_rss_mb():.0f}"
    )


if __name__ == "__main__":
    main()
