"""Fixtures for the integration tests: unique ids (the payment stand-ins live for the whole
session and remember idempotency keys and invoices), an activity context for heartbeats, and
the `o2c` command line run in process against the test database."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import Result
from sqlalchemy import text
from sqlalchemy.engine import make_url
from temporalio.testing import ActivityEnvironment
from typer.testing import CliRunner

from models.db import Database, make_engine
from settings import PROJECT_ROOT, get_settings
from starter.cli import app


@pytest.fixture
def uid() -> str:
    """A short unique suffix: ids stay unique across tests sharing the session stand-ins."""
    return uuid.uuid4().hex[:8]


@pytest.fixture
def activity_env() -> ActivityEnvironment:
    """Runs activity methods that call ``activity.heartbeat`` outside a worker."""
    return ActivityEnvironment()


@pytest.fixture
def cli_env(db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Settings pointing at the test database and a temporary var dir, read afresh."""
    var_dir = tmp_path / "var"
    var_dir.mkdir()
    monkeypatch.setenv("O2C_VAR_DIR", str(var_dir))
    monkeypatch.setenv("O2C_DATABASE_URL", db.url)
    monkeypatch.setenv("O2C_CONFIG_DIR", str(PROJECT_ROOT / "config"))
    monkeypatch.setenv("COLUMNS", "250")  # a wide terminal: rich must not wrap the one line
    get_settings.cache_clear()
    yield var_dir
    get_settings.cache_clear()


def o2c(*args: str) -> Result:
    """The `o2c` command line, in process."""
    return CliRunner().invoke(app, list(args))


@pytest.fixture
def empty_url(database_url: str, tmp_path: Path, uid: str) -> Iterator[str]:
    """A brand-new empty database on the backend under test: a SQLite file, or a fresh
    PostgreSQL schema selected through the connection's search_path."""
    if not database_url:
        yield f"sqlite:///{tmp_path / 'empty.sqlite3'}"
        return
    schema = f"it_empty_{uid}"
    admin = make_engine(database_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(database_url).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
