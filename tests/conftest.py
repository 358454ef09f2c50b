"""Shared fixtures: a migrated database (SQLite per test, or PostgreSQL when
O2C_TEST_DATABASE_URL is set), the loaded config, payment stand-ins and activity deps."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from activities.deps import Deps
from models.config import ConfigSnapshot
from models.config_loader import load_config
from models.db import Database, migrate
from models.repo_config import sync_config
from models.tables import Base
from notifications.outbox import OutboxNotifier
from notifications.render import Renderer
from payments.factory import build_gateways
from payments.standins import PaymentStandIns, start_payment_standins
from settings import PROJECT_ROOT

PG_URL = os.environ.get("O2C_TEST_DATABASE_URL", "")


def _reset_postgres(db: Database) -> None:
    tables = ", ".join(f'"{t.name}"' for t in reversed(Base.metadata.sorted_tables))
    with db.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    if PG_URL:
        migrate(PG_URL)
        return PG_URL
    return ""


@pytest.fixture
def db(database_url: str, tmp_path: Path) -> Iterator[Database]:
    url = database_url or f"sqlite:///{tmp_path / 'o2c.sqlite3'}"
    if not database_url:
        migrate(url)
    database = Database(url)
    if database_url:
        _reset_postgres(database)
    yield database
    database.dispose()


@pytest.fixture(scope="session")
def config() -> ConfigSnapshot:
    return load_config(PROJECT_ROOT / "config", PROJECT_ROOT / "templates")


@pytest.fixture
def loaded_db(db: Database, config: ConfigSnapshot) -> Database:
    with db.transaction() as session:
        sync_config(session, config, datetime.now(UTC))
    return db


@pytest.fixture(scope="session")
def standins() -> Iterator[PaymentStandIns]:
    handle = start_payment_standins(stripe_port=0, adyen_port=0)
    yield handle
    handle.stop()


@pytest.fixture
def deps(
    loaded_db: Database, config: ConfigSnapshot, standins: PaymentStandIns, tmp_path: Path
) -> Deps:
    gateways = build_gateways(
        stripe_api_key="sk_test_o2c_local",
        stripe_api_base=standins.stripe.url,
        adyen_api_key="adyen_test_o2c_local",
        adyen_merchant_account="O2CTest",
        adyen_environment="test",
        adyen_api_base=standins.adyen.url,
    )
    return Deps(
        db=loaded_db,
        config=config,
        gateways=gateways,
        notifier=OutboxNotifier(tmp_path / "outbox"),
        renderer=Renderer(PROJECT_ROOT / "templates"),
    )
