"""The config loader: the real config/ loads, and every bad fixture fails where it should."""

from __future__ import annotations

import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from rich.console import Console

from models.config import ConfigSnapshot, UnknownPlanError
from models.config_loader import ConfigError, ConfigProblem, check_config, load_config
from starter.config_check import run_config_check

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "config"
FIXTURES = ROOT / "tests" / "fixtures"
VALID = FIXTURES / "config_valid" / "config"
INVALID = FIXTURES / "config_invalid"

CATALOG = "config/catalog/base.v1.yaml"
LADDER = "config/dunning/standard.v1.yaml"
ENTITY = "config/entities/acme.yaml"


def test_real_config_loads() -> None:
    snapshot = load_config(CONFIG)
    catalog = snapshot.catalog_on(date(2026, 1, 1))
    assert [p.code for p in catalog.plans] == [
        "starter-monthly",
        "growth-monthly",
        "enterprise-monthly",
    ]
    assert {m.code for m in catalog.metrics} == {"api_calls", "storage_gb"}
    starter = snapshot.plan("starter-monthly", date(2026, 3, 1))
    assert starter.trial_days == 14
    assert starter.charges[0].prices == {"USD": Decimal("49.00"), "EUR": Decimal("45.00")}
    assert snapshot.plan("growth-monthly", date(2026, 3, 1)).trial_days == 0
    for plan in catalog.plans:
        assert plan.currencies == {"USD", "EUR"}
    assert [s.wait_s for s in snapshot.ladder("standard").steps] == [
        3 * 86400,
        5 * 86400,
        7 * 86400,
        15 * 86400,
    ]
    assert [s.wait_s for s in snapshot.ladder("demo").steps] == [2, 2, 2, 2]
    assert [s.name for s in snapshot.ladder("demo").steps][-2:] == ["suspension", "final"]
    us, eu = snapshot.entity("o2c-us"), snapshot.entity("o2c-eu")
    assert (us.currency, us.timezone, us.dunning_ladder) == ("USD", "America/New_York", "standard")
    assert (eu.name, eu.country, eu.currency, eu.timezone) == (
        "o2c SAS",
        "FR",
        "EUR",
        "Europe/Paris",
    )
    assert eu.invoice_prefix == "EU-"


def test_real_config_round_trips_as_json() -> None:
    snapshot = load_config(CONFIG)
    payload = snapshot.model_dump_json()
    assert '"49.00"' in payload  # amounts travel as strings, never floats
    assert ConfigSnapshot.model_validate_json(payload) == snapshot


def test_real_config_checks_templates_when_present(tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    for name in ("dunning_reminder", "dunning_suspended", "dunning_final_notice"):
        (templates / "notices" / "en" / name).mkdir(parents=True)
    assert check_config(CONFIG, templates) == []


def test_plan_lookup_names_what_exists() -> None:
    snapshot = load_config(CONFIG)
    with pytest.raises(UnknownPlanError, match=r"unknown plan 'pro-monthly'.*starter-monthly"):
        snapshot.plan("pro-monthly", date(2026, 3, 1))


def test_valid_fixture_loads() -> None:
    assert check_config(VALID) == []


CASES = [
    ("float_amount", CATALOG, 15, "plans[0].charges[0].prices.USD",
     'amount must be a quoted decimal string, got float 49.0 (write "49.00")'),
    ("missing_currency_price", CATALOG, 16, "plans[0].charges[1].prices", "no EUR price"),
    ("unknown_metric", CATALOG, 16, "plans[0].charges[1].metric", "unknown metric 'api_call'"),
    ("unknown_product", CATALOG, 11, "plans[0].product", "unknown product 'platfrom'"),
    ("unknown_action", LADDER, 5, "steps[0].actions[1]", "'fax_notice' is not allowed here"),
    ("bad_duration", LADDER, 6, "steps[1].wait", "'1w' is not a duration"),
    ("unknown_currency", CATALOG, 16, "plans[0].charges[1].prices.EUX", "unknown currency 'EUX'"),
    ("unknown_timezone", ENTITY, 7, "timezone", "unknown timezone 'America/Springfield'"),
    ("yaml_syntax_error", CATALOG, 10, "", "YAML syntax error: mapping values"),
    ("unknown_field", CATALOG, 13, "plans[0].trail_days", "(did you mean 'trial_days'?)"),
    ("duplicate_plan_code", CATALOG, 17, "plans[1].code", "duplicate plan code 'starter-monthly'"),
    ("entity_unknown_ladder", ENTITY, 10, "dunning_ladder", "unknown dunning ladder 'premium'"),
    ("overlapping_tiers", CATALOG, 20, "plans[0].charges[1].tiers[1].up_to",
     "tier overlaps tiers[0]: tiers must ascend strictly"),
    ("unsorted_tiers", CATALOG, 20, "plans[0].charges[1].tiers[1].up_to",
     "tiers must ascend strictly: up_to 5000 is below the previous up_to 10000"),
    ("gapped_tiers", CATALOG, 21, "plans[0].charges[1].tiers[2].up_to",
     "gap above 1000000: the last tier must omit up_to"),
    ("missing_tier_currency_price", CATALOG, 20, "plans[0].charges[1].tiers[1].unit_price",
     "no EUR price: every tier must be priced in the same currencies as tiers[0].unit_price"),
    ("float_tier_amount", CATALOG, 19, "plans[0].charges[1].tiers[0].unit_price.USD",
     'amount must be a quoted decimal string, got float 0.002 (write "0.0020")'),
    ("unknown_tier_metric", CATALOG, 16, "plans[0].charges[1].metric",
     "unknown metric 'api_call' (declared: api_calls)"),
    ("coupon_unknown_charge", CATALOG, 23, "coupons[0].applies_to",
     "unknown charge code 'platfrom-fee': a coupon applies to a charge code of this catalog"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("case", "file", "line", "field", "rule"), CASES, ids=[c[0] for c in CASES]
)
def test_invalid_fixture_reports_one_located_problem(
    case: str, file: str, line: int, field: str, rule: str
) -> None:
    problems = check_config(INVALID / case / "config")
    assert len(problems) == 1, problems
    [problem] = problems
    assert (problem.file, problem.line, problem.field) == (file, line, field)
    assert rule in problem.rule


def test_three_bad_files_are_all_reported() -> None:
    problems = check_config(INVALID / "three_bad_files" / "config")
    assert [(p.file, p.line, p.field) for p in problems] == [
        (CATALOG, 15, "plans[0].charges[0].prices.USD"),
        (LADDER, 6, "steps[1].wait"),
        (ENTITY, 7, "timezone"),
    ]


def test_load_config_raises_with_every_problem() -> None:
    with pytest.raises(ConfigError) as raised:
        load_config(INVALID / "three_bad_files" / "config")
    assert len(raised.value.problems) == 3
    assert f"{CATALOG}:15: plans[0].charges[0].prices.USD" in str(raised.value)


def test_problem_reads_as_file_line_field_rule() -> None:
    problem = ConfigProblem("config/catalog/x.yaml", 12, "plans[0].charges[1].prices.USD", "bad")
    assert str(problem) == "config/catalog/x.yaml:12: plans[0].charges[1].prices.USD: bad"
    assert (
        str(ConfigProblem("config/catalog", None, "", "missing directory"))
        == "config/catalog: missing directory"
    )


# --- more rules, on copies of the valid fixture ---------------------------------------------------


@pytest.fixture
def config(tmp_path: Path) -> Path:
    target = tmp_path / "config"
    shutil.copytree(VALID, target)
    return target


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_missing_folder_and_missing_dir(config: Path, tmp_path: Path) -> None:
    shutil.rmtree(config / "dunning")
    problems = check_config(config)
    assert [(p.file, p.line) for p in problems] == [("config/dunning", None), (ENTITY, 10)]
    assert "missing directory" in problems[0].rule
    assert "unknown dunning ladder 'standard' (declared: none)" in problems[1].rule
    [gone] = check_config(tmp_path / "nowhere")
    assert gone.rule == "config directory not found"


def test_unknown_kind_and_kind_in_wrong_folder(config: Path) -> None:
    _edit(config / "entities" / "acme.yaml", "kind: legal_entity", "kind: entity")
    (config / "catalog" / "stray.v1.yaml").write_text(
        (config / "dunning" / "standard.v1.yaml").read_text()
    )
    problems = check_config(config)
    assert [(p.file, p.line, p.field) for p in problems] == [
        ("config/catalog/stray.v1.yaml", 1, "kind"),
        (ENTITY, 1, "kind"),
    ]
    assert "belongs in dunning/" in problems[0].rule
    assert "unknown kind 'entity'" in problems[1].rule


def test_duplicate_codes_across_files(config: Path) -> None:
    (config / "entities" / "acme2.yaml").write_text(
        (config / "entities" / "acme.yaml").read_text().replace("code: acme", "code: acme2")
    )
    shutil.copy(config / "dunning" / "standard.v1.yaml", config / "dunning" / "standard.v01.yaml")
    shutil.copy(config / "catalog" / "base.v1.yaml", config / "catalog" / "other.v1.yaml")
    rules = {(p.file, p.field): p.rule for p in check_config(config)}
    assert (
        "duplicate invoice_prefix 'AC-'" in rules[("config/entities/acme2.yaml", "invoice_prefix")]
    )
    assert (
        "duplicate dunning ladder 'standard v1'"
        in rules[("config/dunning/standard.v1.yaml", "version")]
    )
    assert "duplicate catalog version '1'" in rules[("config/catalog/other.v1.yaml", "version")]


def test_file_name_must_match_code_and_version(config: Path) -> None:
    (config / "entities" / "acme.yaml").rename(config / "entities" / "acme-inc.yaml")
    [problem] = check_config(config)
    assert (problem.file, problem.line, problem.field) == (
        "config/entities/acme-inc.yaml",
        3,
        "code",
    )
    assert "file name says 'acme-inc'" in problem.rule


def test_missing_template_folder(config: Path, tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    (templates / "notices" / "en" / "dunning_reminder").mkdir(parents=True)
    [problem] = check_config(config, templates)
    assert (problem.file, problem.line, problem.field) == (LADDER, 6, "steps[1].template")
    assert "template 'dunning_final_notice' not found" in problem.rule


def test_duplicate_yaml_key_is_reported(config: Path) -> None:
    _edit(config / "entities" / "acme.yaml", "currency: USD\n", "currency: USD\ncurrency: EUR\n")
    [problem] = check_config(config)
    assert (problem.file, problem.line, problem.field) == (ENTITY, 7, "currency")
    assert "duplicate key" in problem.rule


def test_a_bad_ladder_does_not_also_break_its_entities(config: Path) -> None:
    _edit(config / "dunning" / "standard.v1.yaml", "wait: 3d", "wait: soon")
    assert [p.field for p in check_config(config)] == ["steps[0].wait"]


def test_many_problems_in_one_file_are_all_reported(config: Path) -> None:
    _edit(config / "catalog" / "base.v1.yaml", 'USD: "49.00"', "USD: 49")
    _edit(config / "catalog" / "base.v1.yaml", "interval: month", "interval: fortnight")
    _edit(config / "catalog" / "base.v1.yaml", "type: per_unit", "type: tiered")
    problems = check_config(config)
    assert [(p.line, p.field) for p in problems] == [
        (12, "plans[0].interval"),
        (15, "plans[0].charges[0].prices.USD"),
        (16, "plans[0].charges[1].type"),
    ]
    assert problems[0].rule == (
        "'fortnight' is not allowed here; expected 'week', 'month', 'quarter' or 'year'"
    )
    assert problems[1].rule == 'amount must be a quoted decimal string, got int 49 (write "49")'
    assert problems[2].rule == (
        "unknown type 'tiered'; expected 'flat', 'per_unit', 'graduated', 'volume', 'package',"
        " 'percentage', 'one_time', 'installments', 'rated'"
    )


def test_run_config_check_prints_problems_and_summary() -> None:
    console = Console(record=True, width=300)
    assert run_config_check(INVALID / "three_bad_files" / "config", None, console=console) == 1
    lines = console.export_text().splitlines()
    assert lines[0].startswith(f"{CATALOG}:15: plans[0].charges[0].prices.USD: amount must be")
    assert lines[-1] == "config check: 3 problem(s) in 3 file(s)"
    ok = Console(record=True, width=300)
    assert run_config_check(CONFIG, None, console=ok) == 0
    assert "config check: OK" in ok.export_text()
