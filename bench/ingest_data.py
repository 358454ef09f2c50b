"""Synthetic accounts and usage events for the ingestion benchmarks (deterministic by seed)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import insert

from models.db import Database
from models.tables import CustomerRow, LegalEntityRow, SubscriptionRow

METRICS = ("api_calls", "storage_gb")
REGIONS = ("us-east-1", "us-west-2", "eu-west-1", "ap-south-1")
ZONES = ("UTC", "America/New_York", "Europe/Paris", "Asia/Tokyo")
ENTITY = "bench-entity"


def seed_accounts(db: Database, subscriptions: int, now: datetime) -> list[str]:
    """One customer per subscription (varied zones and bill-cycle days); returns sub ids."""
    entity = {
        "code": ENTITY, "name": "Bench", "country": "US", "currency": "USD", "timezone": "UTC",
        "invoice_prefix": "B", "payment_terms_days": 0, "dunning_ladder": "standard",
        "address": ["1 Bench St"], "next_invoice_number": 1,
    }  # fmt: skip
    customers = [
        {
            "id": f"cust-{n:06d}",
            "name": f"Customer {n}",
            "email": f"c{n}@bench.example",
            "phone": None,
            "currency": "USD",
            "locale": "en_US",
            "timezone": ZONES[n % 4],
            "bill_cycle_day": 1 + n % 28,
            "legal_entity_code": ENTITY,
            "created_at": now,
        }
        for n in range(subscriptions)
    ]
    subs = [
        {
            "id": f"sub-{n:06d}",
            "customer_id": f"cust-{n:06d}",
            "plan_code": "growth-monthly",
            "catalog_version": 1,
            "quantity": 1,
            "status": "active",
            "started_on": date(2026, 1, 1),
            "updated_at": now,
        }
        for n in range(subscriptions)
    ]
    with db.transaction() as session:
        session.execute(insert(LegalEntityRow), [entity])
        session.execute(insert(CustomerRow), customers)
        session.execute(insert(SubscriptionRow), subs)
    return [str(s["id"]) for s in subs]


def event_batches(
    subscription_ids: list[str], events: int, batch_size: int, now: datetime, seed: int = 7
) -> Iterator[list[dict[str, object]]]:
    """Wire events: timestamps in the last 20 hours, a mix of integer and decimal quantities,
    half with properties; transaction ids unique within a run."""
    rng = random.Random(seed)
    run = f"{seed:04d}"
    for start in range(0, events, batch_size):
        batch: list[dict[str, object]] = []
        for n in range(start, min(start + batch_size, events)):
            at = now - timedelta(seconds=rng.randrange(72_000), microseconds=rng.randrange(10**6))
            event: dict[str, object] = {
                "transaction_id": f"bench-{run}-{n:010d}",
                "subscription_id": rng.choice(subscription_ids),
                "metric": METRICS[n % 2],
                "timestamp": at.isoformat().replace("+00:00", "Z"),
                "quantity": str(rng.randrange(1, 5000)) if n % 3 else f"{rng.randrange(10**6)}.25",
            }
            if n % 2:
                event["properties"] = {"region": REGIONS[n % 4], "status": 200}
            batch.append(event)
        yield batch


def bench_now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)
