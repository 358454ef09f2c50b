"""The `o2c` command line in-process: bad input gets one clear `error:` line and exit code 2 (no
traceback), `config check` names file:line, and nothing here needs Temporal (every case fails
validation before connecting)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import Result

from models.db import Database
from settings import PROJECT_ROOT, get_settings
from tests.integration.conftest import o2c

pytestmark = pytest.mark.db

INVALID = PROJECT_ROOT / "tests" / "fixtures" / "config_invalid"


def assert_one_error_line(result: Result, expected: str) -> None:
    assert result.exit_code == 2, (result.stdout, result.stderr, result.exception)
    assert isinstance(result.exception, SystemExit), result.exception
    assert result.stdout == ""
    assert result.stderr == f"error: {expected}\n"
    assert "Traceback" not in result.output


def add_customer(customer_id: str = "c1", *extra: str) -> Result:
    return o2c(
        "customer", "add", customer_id, "--name", "Acme", "--email", "billing@acme.example",
        "--currency", "USD", "--legal-entity", "o2c-us", *extra,
    )  # fmt: skip


def test_customer_add_with_unknown_currency(cli_env: Path) -> None:
    result = o2c(
        "customer", "add", "c1", "--name", "Acme", "--email", "billing@acme.example",
        "--currency", "XYZ", "--legal-entity", "o2c-us",
    )  # fmt: skip
    assert_one_error_line(
        result,
        "currency: Value error, unknown currency code 'XYZ': use an upper-case ISO 4217 code "
        "such as 'USD'",
    )


def test_customer_add_with_unknown_timezone(cli_env: Path) -> None:
    result = add_customer("c1", "--timezone", "Mars/Olympus_Mons")
    assert_one_error_line(
        result, "timezone: Value error, unknown IANA timezone 'Mars/Olympus_Mons'"
    )


def test_customer_add_with_unknown_legal_entity(cli_env: Path, db: Database) -> None:
    result = o2c(
        "customer", "add", "c1", "--name", "Acme", "--email", "billing@acme.example",
        "--currency", "USD", "--legal-entity", "o2c-mars",
    )  # fmt: skip
    assert_one_error_line(result, "unknown legal entity 'o2c-mars'")
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM customers").scalar_one() == 0


def test_customer_add_twice_names_the_existing_customer(cli_env: Path) -> None:
    assert add_customer("c1").exit_code == 0
    assert_one_error_line(add_customer("c1"), "customer 'c1' already exists")


def test_subscription_start_for_unknown_customer(cli_env: Path) -> None:
    result = o2c("subscription", "start", "s1", "--customer", "nobody", "--plan", "growth-monthly")
    assert_one_error_line(result, "unknown customer 'nobody' (create it with `o2c customer add`)")


def test_subscription_start_with_unknown_plan(cli_env: Path) -> None:
    created = add_customer("c1")
    assert (created.exit_code, created.stdout) == (0, "customer c1 created\n")
    result = o2c("subscription", "start", "s1", "--customer", "c1", "--plan", "platinum-monthly")
    assert_one_error_line(result, "unknown plan 'platinum-monthly' (see config/catalog)")


def test_usage_add_for_unknown_subscription(cli_env: Path) -> None:
    result = o2c("usage", "add", "sub-nope", "--metric", "api_calls", "--transaction-id", "tx-1")
    assert_one_error_line(result, "unknown subscription 'sub-nope'")


def test_usage_add_with_a_quantity_that_is_not_a_number(cli_env: Path) -> None:
    result = o2c(
        "usage", "add", "sub-1", "--metric", "api_calls", "--transaction-id", "tx-1",
        "--quantity", "lots",
    )  # fmt: skip
    assert result.exit_code == 2
    assert "quantity" in result.stderr
    assert "'lots'" in result.stderr


def test_bill_cycle_run_with_an_impossible_date(cli_env: Path) -> None:
    result = o2c("bill-cycle", "run", "2026-13-01")
    assert result.exit_code == 2
    assert isinstance(result.exception, SystemExit)
    assert "'2026-13-01' does not match the formats '%Y-%m-%d'" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("case", "located"),
    [
        ("unknown_timezone", "config/entities/acme.yaml:7: timezone: unknown timezone "
                             "'America/Springfield'"),
        ("float_amount", "config/catalog/base.v1.yaml:15: plans[0].charges[0].prices.USD: "
                         "amount must be a quoted decimal string"),
        ("bad_duration", "config/dunning/standard.v1.yaml:6: steps[1].wait: '1w' is not a "
                         "duration"),
    ],
)  # fmt: skip
def test_config_check_on_invalid_config_names_file_and_line(
    cli_env: Path, case: str, located: str
) -> None:
    result = o2c("config", "check", "--config-dir", str(INVALID / case / "config"))
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert len(lines) == 2, lines
    assert lines[0].startswith(located)
    assert lines[1] == "config check: 1 problem(s) in 1 file(s)"
    assert "Traceback" not in result.output


def test_config_check_on_the_shipped_config_passes(cli_env: Path) -> None:
    result = o2c("config", "check", "--config-dir", str(PROJECT_ROOT / "config"))
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "config check: OK (2 catalog(s), 2 dunning ladder(s), 2 legal entity(ies))\n"
    )


def test_fresh_var_dir_is_created_on_first_use(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    var_dir = tmp_path / "fresh" / "var"
    monkeypatch.setenv("O2C_VAR_DIR", str(var_dir))
    monkeypatch.delenv("O2C_DATABASE_URL", raising=False)
    monkeypatch.setenv("COLUMNS", "250")
    get_settings.cache_clear()
    try:
        result = o2c("usage", "add", "sub-nope", "--metric", "api_calls", "--transaction-id", "t")
    finally:
        get_settings.cache_clear()
    assert_one_error_line(result, "unknown subscription 'sub-nope'")
    assert (var_dir / "o2c.sqlite3").exists()


@pytest.mark.parametrize(
    "command", [("subscription", "preview"), ("usage", "current")], ids=["preview", "current"]
)
def test_preview_and_current_usage_of_an_unknown_subscription(
    cli_env: Path, command: tuple[str, str]
) -> None:
    assert_one_error_line(o2c(*command, "sub-nope"), "unknown subscription 'sub-nope'")


def test_change_plan_with_a_bad_timing(cli_env: Path) -> None:
    result = o2c(
        "subscription", "change-plan", "s1", "--plan", "growth-monthly", "--timing", "soon"
    )
    assert_one_error_line(result, "timing: Input should be 'policy', 'immediate' or 'end_of_term'")
