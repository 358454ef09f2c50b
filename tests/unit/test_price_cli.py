"""`o2c price`: previews from catalog YAML (no database, no Temporal), exact amounts, one-line
errors with exit code 2, and the worked examples of docs/pricing.md as the command prints them."""

from __future__ import annotations

import json
import re
import shlex
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from billing.invoice import AccountTerms, UsageTotal, build_invoice
from billing.periods import Schedule
from models.config_loader import load_config
from models.pricing_terms import plan_pricing
from settings import PROJECT_ROOT, get_settings
from starter.cli import app

V2 = "config/catalog/demo.v2.yaml"
DOCS = PROJECT_ROOT / "docs" / "pricing.md"


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(PROJECT_ROOT)
    monkeypatch.setenv("O2C_CONFIG_DIR", str(PROJECT_ROOT / "config"))
    monkeypatch.setenv("COLUMNS", "1000")  # rich must not wrap the one error line
    get_settings.cache_clear()


def o2c(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def price(*args: str) -> dict[str, Any]:
    result = o2c("price", *args)
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def growth(*extra: str) -> dict[str, Any]:
    base = ("--catalog", V2, "--plan", "growth-monthly", "--currency", "USD")
    return price(*base, "--period-start", "2027-01-01", *extra)


def test_the_example_of_the_issue_prints_exact_lines_and_totals() -> None:
    data = growth("--seats", "5", "--usage", "api_calls=120000", "--usage", "storage_gb=12.5")
    assert {k: data[k] for k in ("catalog_version", "plan", "currency", "period", "seats")} == {
        "catalog_version": 2,
        "plan": "growth-monthly",
        "currency": "USD",
        "period": {"start": "2027-01-01", "end": "2027-02-01"},
        "seats": 5,
    }
    assert [
        (ln["kind"], ln["charge"], ln["quantity"], ln["unit_amount"], ln["amount"],
         ln["amount_minor"])
        for ln in data["lines"]
    ] == [
        ("recurring", "platform-fee", "5", "199.00", "995.000000000", 99500),
        ("usage", "api_calls", "120000", "0.0015", "180.000000000", 18000),
        ("usage", "storage_gb", "12.5", "0.20", "2.500000000", 250),
    ]  # fmt: skip
    assert data["totals"]["total"] == "1177.50"
    total_minor = data["totals"]["total_minor"]
    assert total_minor == 117750 == sum(ln["amount_minor"] for ln in data["lines"])


def test_without_catalog_the_version_in_force_on_the_period_start_is_used() -> None:
    args = ("--plan", "growth-monthly", "--currency", "EUR", "--period-start")
    assert price(*args, "2026-06-01")["catalog_version"] == 1
    assert price(*args, "2027-06-01")["catalog_version"] == 2


def test_an_input_file_holds_the_same_arguments_and_options_override_it(tmp_path: Path) -> None:
    spec = tmp_path / "spec.json"
    spec.write_text(
        json.dumps(
            {
                "catalog": V2,
                "plan": "growth-monthly",
                "currency": "USD",
                "period_start": "2027-01-01",
                "seats": 5,
                "usage": {"api_calls": 120000, "storage_gb": 12.5},
            }
        )
    )
    from_file = price("--input", str(spec))
    assert from_file == growth(
        "--seats", "5", "--usage", "api_calls=120000", "--usage", "storage_gb=12.5"
    )
    assert price("--input", str(spec), "--seats", "1")["lines"][0]["amount_minor"] == 19900


def test_an_inline_charge_is_priced_alone(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "currency: USD\nperiod_start: 2027-01-01\nusage: {payments: 0}\n"
        "transactions: {payments: [10.00, 2000.00]}\n"
        "charge: {type: percentage, metric: payments, description: Fees, rate: '0.029',"
        " fixed_fee: {USD: '0.30'}, max_fee: {USD: '20.00'}}\n"
    )
    result = o2c("price", "--input", str(spec))
    assert result.exit_code == 2 and "given both as usage and as transactions" in result.stderr
    spec.write_text(spec.read_text().replace("usage: {payments: 0}\n", ""))
    data = price("--input", str(spec))
    assert data["plan"] == "inline" and data["catalog_version"] is None
    [line] = data["lines"]
    assert (line["amount"], line["amount_minor"]) == ("20.590000000", 2059)  # 0.59 + 20.00 (max)


ERRORS = [
    (("--plan", "nope"), "--plan: unknown plan 'nope' in catalog v2 (plans: api-graduated-monthly"),
    (("--plan", "mobile-monthly"), "--currency: plan 'mobile-monthly' is not sold in USD (EUR)"),
    (("--plan", "growth-monthly", "--usage", "api_calls"),
     "--usage: 'api_calls' is not METRIC=QUANTITY (e.g. api_calls=120000)"),
    (("--plan", "growth-monthly", "--usage", "api_calls=lots"),
     "--usage: 'api_calls=lots' is not METRIC=QUANTITY"),
    (("--plan", "growth-monthly", "--usage", "api_calls=-5"),
     "--usage.api_calls: quantity must be >= 0"),
    (("--plan", "growth-monthly", "--usage", "sms=5"),
     "--usage: plan 'growth-monthly' has no charge on metric 'sms' (metrics: api_calls,"
     " storage_gb)"),
    (("--plan", "payments-monthly", "--usage", "payments=100"),
     "--usage: payments is priced per transaction: give each amount with --transactions"),
    (("--plan", "payments-monthly", "--transactions", "payments=1.00;2.00"),
     "--transactions: 'payments=1.00;2.00' is not METRIC=AMOUNT,..."),
    (("--plan", "mobile-monthly", "--currency", "EUR", "--usage", "voice_seconds=60"),
     "--usage: voice_seconds is rated event by event with a rate table"),
    (("--plan", "growth-monthly", "--coupon", "NOPE"),
     "--coupon: unknown coupon 'NOPE' in catalog v2 (coupons: API20, LAUNCH50, WELCOME10)"),
    (("--plan", "growth-monthly", "--currency", "DOL"), "--currency: unknown currency 'DOL'"),
    (("--plan", "growth-monthly", "--period-end", "2026-12-01"),
     "input: period_end must be after period_start"),
    (("--plan", "growth-monthly", "--credits", "1e3"),
     "--credits: amount must be a decimal string"),
    (("--plan", "sandbox-weekly", "--bill-cycle-day", "9"),
     "--bill-cycle-day: weekly periods start on a weekday 1..7 (1 = Monday), got 9"),
]  # fmt: skip


@pytest.mark.parametrize(("args", "message"), ERRORS, ids=[e[1][:40] for e in ERRORS])
def test_bad_arguments_get_one_clear_line_and_exit_code_2(
    args: tuple[str, ...], message: str
) -> None:
    base = {"--catalog": V2, "--currency": "USD", "--period-start": "2027-01-01"}
    for flag in args[::2]:
        base.pop(flag, None)
    result = o2c("price", *args, *(x for pair in base.items() for x in pair))
    assert result.exit_code == 2, result.stdout
    assert result.stdout == ""
    assert result.stderr.startswith(f"error: {message}"), result.stderr
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--plan", "growth-monthly", "--currency", "USD"),
         "error: --period-start: field required"),
        (("--currency", "USD", "--period-start", "2027-01-01"),
         "give a plan (--plan) or an inline charge (charge: in --input)"),
        (("--input", "nowhere.yaml"), "error: --input: cannot read nowhere.yaml"),
        (("--plan", "growth-monthly", "--currency", "USD", "--period-start", "2025-01-01"),
         "error: --period-start: no catalog is effective on 2025-01-01"),
        (("--catalog", "tests/fixtures/config_invalid/gapped_tiers/config/catalog/base.v1.yaml",
          "--plan", "starter-monthly", "--currency", "USD", "--period-start", "2026-01-01"),
         "error: invalid catalog: tests/fixtures/config_invalid/gapped_tiers/config/catalog/"
         "base.v1.yaml:21: plans[0].charges[1].tiers[2].up_to: gap above 1000000"),
        (("--catalog", "missing.yaml", "--plan", "x", "--currency", "USD", "--period-start",
          "2027-01-01"), "error: invalid catalog: missing.yaml: file not found"),
    ],
)  # fmt: skip
def test_missing_or_bad_files(args: tuple[str, ...], message: str) -> None:
    result = o2c("price", *args)
    assert result.exit_code == 2
    assert message in result.stderr and result.stderr.count("\n") == 1


def test_a_bad_input_file_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    result = o2c("price", "--input", str(bad))
    assert result.exit_code == 2 and f"--input: {bad} is not valid YAML or JSON" in result.stderr
    listed = tmp_path / "list.yaml"
    listed.write_text("- plan\n")
    result = o2c("price", "--input", str(listed))
    assert result.exit_code == 2 and "must hold a mapping" in result.stderr


# --- the same core as the bill cycle ----------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(
    seats=st.integers(min_value=0, max_value=50),
    calls=st.integers(min_value=0, max_value=5_000_000),
    storage=st.decimals(min_value=0, max_value=10_000, places=3),
)
def test_the_preview_equals_the_invoices_of_the_bill_cycle(
    seats: int, calls: int, storage: Decimal
) -> None:
    """Fees in advance are billed on the invoice of the period start, usage on the next one;
    the preview of the period shows both, with the same amounts."""
    preview = growth(
        "--seats", str(seats), "--usage", f"api_calls={calls}", "--usage", f"storage_gb={storage}"
    )
    pricing = plan_pricing(_CONFIG.catalog(2).plan("growth-monthly"), "USD")
    terms = _terms(pricing, seats)
    account = AccountTerms("c", "USD", "UTC", 1)
    usage = [
        UsageTotal("growth-monthly", "api_calls", Decimal(calls)),
        UsageTotal("growth-monthly", "storage_gb", storage),
    ]
    first = build_invoice(account, [terms], [], date(2027, 1, 1))
    second = build_invoice(account, [terms], usage, date(2027, 2, 1))
    billed = [(ln.kind, ln.amount, ln.amount_minor) for ln in first.lines if ln.kind == "recurring"]
    billed += [(ln.kind, ln.amount, ln.amount_minor) for ln in second.lines if ln.kind == "usage"]
    shown = [(ln["kind"], Decimal(ln["amount"]), ln["amount_minor"]) for ln in preview["lines"]]
    assert shown == billed
    assert preview["totals"]["total_minor"] == sum(line[2] for line in billed)


def _terms(pricing: Any, seats: int) -> Any:
    from billing.invoice import SubscriptionTerms

    return SubscriptionTerms(
        subscription_id="growth-monthly", plan_code="growth-monthly", plan_name="Growth",
        quantity=seats, status="active", started_on=date(2027, 1, 1), trial_end_on=None,
        cancelled_on=None, flat_charges=(), usage_charges=(), charges=pricing.charges,
        schedule=Schedule(pricing.interval, pricing.alignment, 1),
    )  # fmt: skip


_CONFIG = load_config(PROJECT_ROOT / "config")


# --- docs/pricing.md shows what the command prints -----------------------------------------------

_EXAMPLE = re.compile(r"```console\n\$ (o2c price [^\n]+)\n```\n\n((?:\|[^\n]*\n)+)")


def _documented() -> list[tuple[str, list[list[str]]]]:
    found = []
    for command, table in _EXAMPLE.findall(DOCS.read_text(encoding="utf-8")):
        rows = [[cell.strip() for cell in row.strip("|").split("|")] for row in table.splitlines()]
        found.append((command, rows[2:]))  # past the header and the |---| line
    return found


def test_the_docs_have_a_worked_example_for_every_model() -> None:
    commands = " ".join(command for command, _ in _documented())
    plans = (
        "growth-monthly", "api-graduated-monthly", "api-volume-monthly", "sms-package-monthly",
        "payments-monthly", "team-annual", "support-quarterly", "sandbox-weekly",
        "device-monthly", "intro-monthly", "mobile-monthly",
    )  # fmt: skip
    for plan in plans:
        assert f"--plan {plan}" in commands
    assert "--coupon" in commands and "--credits" in commands and "--input" in commands


@pytest.mark.parametrize(("command", "rows"), _documented(), ids=lambda v: str(v)[10:70])
def test_each_documented_example_is_what_o2c_price_prints(
    command: str, rows: list[list[str]]
) -> None:
    data = price(*shlex.split(command)[2:])
    *lines, total = rows
    assert [[r[0], r[1], r[3], r[4], r[5], r[6]] for r in lines] == [
        [ln["kind"], ln["description"], ln["quantity"], ln["unit_amount"], ln["amount"],
         str(ln["amount_minor"])]
        for ln in data["lines"]
    ]  # fmt: skip
    assert total[1] == f"{data['currency']} {data['totals']['total']}"
    assert total[-1] == f"**{data['totals']['total_minor']}**"


_FULL = re.compile(r"```console\n\$ (o2c price [^\n]+)\n(\{.*?\n\})\n```", re.S)


def test_the_documented_full_output_is_what_o2c_price_prints() -> None:
    [(command, output)] = _FULL.findall(DOCS.read_text(encoding="utf-8"))
    assert price(*shlex.split(command)[2:]) == json.loads(output)
