"""Migrations: an empty database migrates to head, the ORM models match the migrations exactly
(alembic autogenerate finds nothing to do), and migrating again changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text

from models.db import Database, alembic_config, make_engine, migrate
from models.tables import Base
from models.usage_store import is_partition

pytestmark = pytest.mark.db


def head_revision(url: str) -> str | None:
    return ScriptDirectory.from_config(alembic_config(url)).get_current_head()


def table_names(engine: Engine) -> set[str]:
    """Tables of the database, without the monthly partitions of usage_events (PostgreSQL):
    the ingest path creates those at run time, they are not in the models."""
    return {name for name in inspect(engine).get_table_names() if not is_partition(name)}


def _not_a_partition(name: str | None, type_: str, _parent: object) -> bool:
    return not (type_ == "table" and name is not None and is_partition(name))


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def model_diff(engine: Engine) -> list[Any]:
    """What autogenerate would add to a new migration (types and server defaults compared)."""
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={
                "compare_type": True,
                "compare_server_default": True,
                "include_name": _not_a_partition,
            },
        )
        return list(compare_metadata(context, Base.metadata))


def schema_of(engine: Engine) -> dict[str, Any]:
    insp = inspect(engine)
    return {
        table: {
            "columns": [
                (c["name"], str(c["type"]), c["nullable"]) for c in insp.get_columns(table)
            ],
            "pk": insp.get_pk_constraint(table)["constrained_columns"],
            "indexes": sorted(
                (i["name"], tuple(i["column_names"])) for i in insp.get_indexes(table)
            ),
            "uniques": sorted(
                (u["name"] or "", tuple(u["column_names"]))
                for u in insp.get_unique_constraints(table)
            ),
            "fks": sorted(
                (tuple(f["constrained_columns"]), f["referred_table"])
                for f in insp.get_foreign_keys(table)
            ),
        }
        for table in sorted(table_names(engine))
    }


def test_empty_database_migrates_to_head_with_every_table(empty_url: str) -> None:
    engine = make_engine(empty_url)
    try:
        assert inspect(engine).get_table_names() == []
        migrate(empty_url)
        tables = table_names(engine)
        assert tables == set(Base.metadata.tables) | {"alembic_version"}
        assert current_revision(engine) == head_revision(empty_url)
        assert model_diff(engine) == []
    finally:
        engine.dispose()


def test_fixture_database_has_every_table_of_the_models(db: Database) -> None:
    tables = table_names(db.engine)
    assert set(Base.metadata.tables) <= tables
    assert tables - set(Base.metadata.tables) == {"alembic_version"}
    for name, table in Base.metadata.tables.items():
        columns = {c["name"] for c in inspect(db.engine).get_columns(name)}
        assert columns == set(table.columns.keys()), name


def test_models_match_the_migrations(db: Database) -> None:
    """Nothing is ignored: a model change without its migration (or the reverse) fails here."""
    assert model_diff(db.engine) == []


def test_business_keys_are_unique_constraints_in_the_database(db: Database) -> None:
    schema = schema_of(db.engine)

    def unique_sets(table: str) -> set[tuple[str, ...]]:
        uniques = {cols for _, cols in schema[table]["uniques"]}
        insp = inspect(db.engine)
        uniques |= {tuple(i["column_names"]) for i in insp.get_indexes(table) if i.get("unique")}
        return uniques

    assert ("customer_id", "period_start", "period_end") in unique_sets("invoices")
    assert ("legal_entity_code", "number") in unique_sets("invoices")
    assert schema["usage_event_keys"]["pk"] == ["transaction_id"]  # usage_events: see 0002
    assert ("idempotency_key",) in unique_sets("payment_attempts")
    assert ("invoice_id", "attempt_no") in unique_sets("payment_attempts")
    assert ("idempotency_key",) in unique_sets("notifications")
    assert ("invoice_id", "line_no") in unique_sets("invoice_lines")
    assert schema["dunning_cases"]["pk"] == ["invoice_id"]
    assert schema["bill_cycle_accounts"]["pk"] == ["bill_cycle_key", "customer_id"]


def test_migrating_twice_is_a_no_op(loaded_db: Database) -> None:
    engine = loaded_db.engine
    before = schema_of(engine)
    revision = current_revision(engine)
    with engine.connect() as conn:
        entities = conn.execute(text("SELECT code FROM legal_entities ORDER BY code")).all()
    assert [e.code for e in entities] == ["o2c-eu", "o2c-us"]

    migrate(loaded_db.url)
    migrate(loaded_db.url)

    assert current_revision(engine) == revision == head_revision(loaded_db.url)
    assert schema_of(engine) == before
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar_one() == 1
        assert conn.execute(text("SELECT code FROM legal_entities ORDER BY code")).all() == entities
