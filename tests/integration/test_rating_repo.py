"""Rating a period: every event classified and stored once (zero-value ones too, unmatched ones
as unrated with the reason), idempotent re-runs, roll-ups for invoice lines, and the
per-invoice CSV detail export (library and `o2c invoice usage-export`)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select
from typer.testing import CliRunner

from billing.rating import RateTable
from models.accounts import CustomerCreate, add_customer
from models.config import ConfigSnapshot
from models.db import Database
from models.rating_repo import (
    EXPORT_COLUMNS,
    RatedTotal,
    UnknownInvoiceError,
    invoice_rated_events,
    rate_period,
    rated_totals,
    unrated_count,
)
from models.tables import InvoiceRow, RatedEventRow, SubscriptionRow, UsageEventRow
from settings import PROJECT_ROOT, get_settings
from starter.cli import app

pytestmark = pytest.mark.db

# The customer is in America/New_York: its November usage period is [Nov 1 04:00Z, Dec 1 05:00Z).
START = datetime(2026, 11, 1, 4, tzinfo=UTC)
END = datetime(2026, 12, 1, 5, tzinfo=UTC)
NOW = datetime(2026, 12, 1, 6, tzinfo=UTC)
MONDAY_10H_PARIS = datetime(2026, 11, 2, 9, tzinfo=UTC)
TUESDAY_23H_PARIS = datetime(2026, 11, 3, 22, tzinfo=UTC)
SATURDAY_NOON_PARIS = datetime(2026, 11, 7, 11, tzinfo=UTC)
D = Decimal

EVENTS = [
    # (transaction id, subscription, metric, at, quantity, destination)
    ("call-mobile", "sub-a", "voice_seconds", MONDAY_10H_PARIS, "31", "+33612345678"),
    ("call-mobile-2", "sub-a", "voice_seconds", MONDAY_10H_PARIS, "30.2", "+33712345678"),
    ("call-free", "sub-a", "voice_seconds", SATURDAY_NOON_PARIS, "600", "+33800123456"),
    ("call-missed", "sub-a", "voice_seconds", MONDAY_10H_PARIS, "0", "+33612345678"),
    ("call-uk", "sub-a", "voice_seconds", TUESDAY_23H_PARIS, "61", "+442079460000"),
    ("sms-uk", "sub-a", "sms_messages", MONDAY_10H_PARIS, "3", "+447700900123"),
    ("data-night", "sub-a", "data_bytes", TUESDAY_23H_PARIS, "1500001", None),
    ("call-nowhere", "sub-a", "voice_seconds", MONDAY_10H_PARIS, "60", "+999123"),
    ("api", "sub-a", "api_calls", MONDAY_10H_PARIS, "5", None),  # not a telco metric
    ("call-late", "sub-a", "voice_seconds", END, "60", "+33612345678"),  # next period
    ("call-b", "sub-b", "voice_seconds", MONDAY_10H_PARIS, "60", "+33145678901"),
]


@pytest.fixture
def table(config: ConfigSnapshot) -> RateTable:
    return config.rate_table("telco-demo").to_core()


@pytest.fixture
def telco_db(loaded_db: Database) -> Database:
    with loaded_db.transaction() as session:
        for customer in ("cus-telco", "cus-other"):
            data = CustomerCreate(
                id=customer, name=customer, email=f"{customer}@example.com", currency="USD",
                timezone="America/New_York", bill_cycle_day=1, legal_entity="o2c-us",
            )  # fmt: skip
            add_customer(session, data, NOW)
        for sub, customer in (("sub-a", "cus-telco"), ("sub-b", "cus-other")):
            session.add(
                SubscriptionRow(
                    id=sub, customer_id=customer, plan_code="growth-monthly", catalog_version=1,
                    quantity=1, status="active", started_on=date(2026, 10, 1), updated_at=NOW,
                )
            )  # fmt: skip
        session.flush()
        session.add(
            InvoiceRow(
                id="inv-telco-1", number="US-1", sequence_no=1, customer_id="cus-telco",
                legal_entity_code="o2c-us", currency="USD", period_start=date(2026, 12, 1),
                period_end=date(2027, 1, 1), usage_period_start=date(2026, 11, 1),
                usage_period_end=date(2026, 12, 1), subtotal_minor=0, tax_minor=0,
                total_minor=0, status="open", issued_on=date(2026, 12, 1),
                due_on=date(2026, 12, 31), bill_cycle_key="test", created_at=NOW,
            )
        )  # fmt: skip
        session.execute(
            insert(UsageEventRow.__table__),
            [
                {
                    "transaction_id": tx, "customer_id": "cus", "subscription_id": sub,
                    "metric_code": metric, "occurred_at": at, "quantity_units": int(D(qty)),
                    "quantity_nanos": int((D(qty) % 1).scaleb(9)), "received_at": at,
                    "properties": {"destination": dest} if dest else {"apn": "internet"},
                }
                for tx, sub, metric, at, qty, dest in EVENTS
            ],
        )  # fmt: skip
    return loaded_db


def count_rated(db: Database) -> int:
    with db.transaction() as session:
        return session.scalar(select(func.count()).select_from(RatedEventRow)) or 0


def test_every_event_is_classified_rated_and_stored_once(
    telco_db: Database, table: RateTable
) -> None:
    with telco_db.transaction() as session:
        first = rate_period(session, table, START, END, NOW, ["sub-a"], chunk_size=3)
    assert (first.events_read, first.rated, first.zero_value, first.unrated) == (8, 7, 2, 1)
    assert first.inserted == 8
    assert first.reasons == [
        "event call-nowhere: no destination prefix matches '+999123': add a prefix to the table"
    ]
    assert count_rated(telco_db) == 8

    with telco_db.transaction() as session:
        again = rate_period(session, table, START, END, NOW, ["sub-a"])
    assert (again.events_read, again.rated, again.unrated) == (1, 0, 1)  # only the unrated retry
    assert count_rated(telco_db) == 8

    with telco_db.transaction() as session:
        everyone = rate_period(session, table, START, END, NOW)  # all subscriptions
        assert unrated_count(session, START, END, ["sub-a"]) == 1
    assert (everyone.rated, everyone.unrated) == (1, 1)  # sub-b's call
    assert count_rated(telco_db) == 9


def test_rated_events_roll_up_per_destination_and_band(
    telco_db: Database, table: RateTable
) -> None:
    with telco_db.transaction() as session:
        rate_period(session, table, START, END, NOW)
        rate_period(session, table, START, END, NOW)  # twice: totals unchanged
        totals = rated_totals(session, START, END, ["sub-a"])
    expected = [
        # data: 1,501,000 billed bytes x 0.005/MB off-peak
        RatedTotal("sub-a", "data", "data", "offpeak", "EUR", 1, 1500001, 1501000, D("0.007505")),
        # sms: 3 x 0.10
        RatedTotal("sub-a", "sms", "United Kingdom mobile", "peak", "EUR", 1, 3, 3, D("0.3")),
        # 0 + 0 (free number)
        RatedTotal("sub-a", "voice", "France toll-free", "weekend", "EUR", 1, 600, 600, D(0)),
        # 31 s -> 36 s (0.036 + 0.015), 30.2 s -> 31 s -> 36 s (0.051), missed call 0
        RatedTotal("sub-a", "voice", "France mobile", "peak", "EUR", 3, 62, 72, D("0.102")),
        # 61 s -> 120 s at 0.08 + 0.03 setup
        RatedTotal(
            "sub-a", "voice", "United Kingdom fixed", "offpeak", "EUR", 1, 61, 120, D("0.19")
        ),
    ]
    key = lambda t: (t.service, t.destination_name, t.band)  # noqa: E731
    assert sorted(totals, key=key) == sorted(expected, key=key)
    assert totals[0].description in {"Data (offpeak)"}
    assert RatedTotal("s", "voice", "France mobile", "peak", "EUR", 1, 1, 1, D(0)).description == (
        "Voice — France mobile (peak)"
    )


def test_the_invoice_export_lists_every_rated_event(telco_db: Database, table: RateTable) -> None:
    with telco_db.transaction() as session:
        rate_period(session, table, START, END, NOW)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(EXPORT_COLUMNS)
    with telco_db.transaction() as session:
        for fields in invoice_rated_events(session, "inv-telco-1"):
            writer.writerow(fields)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert sorted(r["transaction_id"] for r in rows) == sorted(
        tx for tx, sub, metric, at, *_ in EVENTS
        if sub == "sub-a" and metric != "api_calls" and START <= at < END
    )  # fmt: skip
    call = next(r for r in rows if r["transaction_id"] == "call-mobile")
    assert {k: call[k] for k in ("destination", "prefix", "destination_name", "band")} == {
        "destination": "+33612345678", "prefix": "336",
        "destination_name": "France mobile", "band": "peak",
    }  # fmt: skip
    assert (call["quantity"], call["unit"], call["billed_quantity"], call["increments"]) == (
        "31", "s", "36", "30/6",
    )  # fmt: skip
    assert (call["unit_price"], call["setup_fee"], call["amount"], call["currency"]) == (
        "0.06", "0.015", "0.051", "EUR",
    )  # fmt: skip
    nowhere = next(r for r in rows if r["transaction_id"] == "call-nowhere")
    assert (nowhere["status"], nowhere["amount"]) == ("unrated", "0")
    assert "no destination prefix matches" in nowhere["reason"]


def test_an_unknown_invoice_is_a_clear_error(telco_db: Database) -> None:
    with telco_db.transaction() as session, pytest.raises(UnknownInvoiceError, match="'nope'"):
        invoice_rated_events(session, "nope")


@pytest.fixture
def cli_env(telco_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("O2C_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("O2C_DATABASE_URL", telco_db.url)
    monkeypatch.setenv("O2C_CONFIG_DIR", str(PROJECT_ROOT / "config"))
    monkeypatch.setenv("COLUMNS", "250")
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def test_cli_usage_export_writes_the_csv(
    cli_env: Path, telco_db: Database, table: RateTable
) -> None:
    with telco_db.transaction() as session:
        rate_period(session, table, START, END, NOW)
    target = cli_env / "usage.csv"
    result = CliRunner().invoke(
        app, ["invoice", "usage-export", "inv-telco-1", "--out", str(target)]
    )
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert "8 rated events written" in result.stdout
    lines = target.read_text(encoding="utf-8").splitlines()
    assert lines[0] == ",".join(EXPORT_COLUMNS)
    assert len(lines) == 9
    streamed = CliRunner().invoke(app, ["invoice", "usage-export", "inv-telco-1"])
    assert streamed.stdout.splitlines() == lines


def test_cli_usage_export_of_an_unknown_invoice(cli_env: Path) -> None:
    target = cli_env / "nothing.csv"
    result = CliRunner().invoke(app, ["invoice", "usage-export", "inv-x", "--out", str(target)])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: unknown invoice 'inv-x'")
    assert not target.exists()
