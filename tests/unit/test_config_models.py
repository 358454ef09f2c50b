"""The config models on their own: scalar rules, look-ups, the core conversion, JSON."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from billing.dunning import DunningAction, validate_ladder
from models.config import (
    CatalogConfig,
    ConfigSnapshot,
    DunningLadderConfig,
    FlatChargeConfig,
    LegalEntityConfig,
    NoCatalogError,
    PerUnitChargeConfig,
    UnknownEntityError,
    UnknownLadderError,
    parse_duration,
)


def catalog(version: int, effective_on: str, price: str = "49.00") -> dict[str, Any]:
    return {
        "version": version,
        "effective_on": effective_on,
        "products": [{"code": "platform", "name": "Platform"}],
        "plans": [
            {
                "code": "starter-monthly",
                "name": "Starter",
                "product": "platform",
                "interval": "month",
                "charges": [{"type": "flat", "description": "Fee", "prices": {"USD": price}}],
            }
        ],
    }


def ladder(code: str = "standard", version: int = 1, wait: str = "3d") -> dict[str, Any]:
    return {
        "code": code,
        "version": version,
        "steps": [
            {
                "name": "reminder",
                "wait": wait,
                "actions": ["email_notice"],
                "template": "dunning_reminder",
            },
            {"name": "final", "wait": "15d", "actions": ["cancel_subscriptions", "write_off"]},
        ],
    }


ENTITY = {
    "version": 1,
    "code": "acme",
    "name": "Acme",
    "country": "US",
    "currency": "USD",
    "timezone": "America/New_York",
    "invoice_prefix": "AC-",
    "payment_terms_days": 14,
    "dunning_ladder": "standard",
    "address": ["1 Main St"],
}


def snapshot() -> ConfigSnapshot:
    return ConfigSnapshot.model_validate(
        {
            "catalogs": [catalog(2, "2026-07-01", "59.00"), catalog(1, "2026-01-01")],
            "ladders": [ladder(version=1), ladder(version=2, wait="1d"), ladder("demo", wait="2s")],
            "entities": [ENTITY],
        }
    )


@pytest.mark.parametrize("text", ["49.00", "0", "0.0020", "0.000000001", "1000000"])
def test_amounts_are_exact_decimals_and_travel_as_the_same_string(text: str) -> None:
    charge = PerUnitChargeConfig(metric="api_calls", description="Calls", prices={"USD": text})
    assert charge.prices["USD"] == Decimal(text)
    assert charge.model_dump(mode="json")["prices"] == {"USD": text}
    assert PerUnitChargeConfig.model_validate(charge.model_dump()) == charge
    assert PerUnitChargeConfig.model_validate_json(charge.model_dump_json()) == charge


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        (49.0, 'amount must be a quoted decimal string, got float 49.0 (write "49.0")'),
        (49, "got int 49"),
        ("-1.00", "amount must be >= 0"),
        ("1e3", "amount must be a decimal string like '49.00'"),
        ("4.9.0", "amount must be a decimal string"),
        ("1.0000000001", "at most 9 are allowed"),
        ("49.001", "a flat USD amount has at most 2 decimal places"),
    ],
)
def test_bad_amounts_are_rejected(value: object, rule: str) -> None:
    with pytest.raises(ValidationError, match=rule.replace("(", r"\(").replace(")", r"\)")):
        FlatChargeConfig.model_validate({"description": "Fee", "prices": {"USD": value}})


@pytest.mark.parametrize(
    ("text", "seconds"), [("5s", 5), ("2m", 120), ("12h", 43200), ("3d", 259200), ("0s", 0)]
)
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@given(st.integers(min_value=0, max_value=10**6), st.sampled_from("smhd"))
def test_every_integer_duration_round_trips(count: int, unit: str) -> None:
    factor = {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit]
    config = DunningLadderConfig.model_validate(ladder(wait=f"{count}{unit}"))
    assert config.steps[0].wait_s == count * factor


@pytest.mark.parametrize("text", ["3", "3 d", "1w", "-1d", "1.5h", "d"])
def test_bad_durations_are_rejected(text: str) -> None:
    with pytest.raises(ValidationError, match="is not a duration"):
        DunningLadderConfig.model_validate(ladder(wait=text))


def test_ladder_rules() -> None:
    bad = ladder()
    bad["steps"][0] = {"name": "final", "wait": "1d", "actions": ["write_off", "sms_notice"]}
    with pytest.raises(ValidationError) as raised:
        DunningLadderConfig.model_validate(bad)
    text = str(raised.value)
    assert "template: a step with email_notice or sms_notice needs a template" in text


def test_ladder_converts_to_a_valid_core_ladder() -> None:
    core = DunningLadderConfig.model_validate(ladder()).to_core()
    assert core.code == "standard" and core.version == 1
    assert core.steps[0].wait_s == 3 * 86400
    assert core.steps[1].actions == (DunningAction.CANCEL_SUBSCRIPTIONS, DunningAction.WRITE_OFF)
    assert core.steps[1].template is None
    assert validate_ladder(core) == []
    assert core.steps[0] == DunningLadderConfig.model_validate(ladder()).steps[0].to_core()


def test_snapshot_look_ups() -> None:
    config = snapshot()
    assert config.catalog_on(date(2026, 6, 30)).version == 1
    assert config.catalog_on(date(2026, 7, 1)).version == 2
    assert config.plan("starter-monthly", date(2027, 1, 1)).charges[0].prices["USD"] == Decimal(
        "59.00"
    )
    assert config.ladder("standard").version == 2
    assert config.ladder("standard", 1).steps[0].wait_s == 3 * 86400
    assert config.entity("acme").payment_terms_days == 14
    with pytest.raises(NoCatalogError, match="no catalog is effective on 2025-12-31"):
        config.catalog_on(date(2025, 12, 31))
    with pytest.raises(UnknownLadderError, match="unknown dunning ladder 'standard v3'"):
        config.ladder("standard", 3)
    with pytest.raises(UnknownEntityError, match=r"unknown legal entity 'nope' \(declared: acme\)"):
        config.entity("nope")


def test_snapshot_json_round_trip_keeps_decimals_exact() -> None:
    config = snapshot()
    payload = config.model_dump_json()
    assert '"USD":"59.00"' in payload
    assert ConfigSnapshot.model_validate_json(payload) == config
    assert ConfigSnapshot.model_validate(config.model_dump()) == config


def test_catalog_versions_must_be_unique_and_ordered_by_date() -> None:
    with pytest.raises(ValidationError, match="duplicate catalog version '1'"):
        ConfigSnapshot(
            catalogs=[catalog(1, "2026-01-01"), catalog(1, "2026-02-01")], ladders=[], entities=[]
        )
    with pytest.raises(ValidationError, match="catalog v2 must be effective after v1"):
        ConfigSnapshot.model_validate(
            {
                "catalogs": [catalog(1, "2026-03-01"), catalog(2, "2026-02-01")],
                "ladders": [],
                "entities": [],
            }
        )


@pytest.mark.parametrize(
    ("field", "value", "rule"),
    [
        ("country", "XX", "unknown country 'XX'"),
        ("currency", "DOL", "unknown currency 'DOL'"),
        ("timezone", "Mars/Olympus", "unknown timezone 'Mars/Olympus'"),
        ("code", "Acme Inc", "is not a valid code"),
        ("payment_terms_days", "14", "valid integer"),
    ],
)
def test_entity_rules(field: str, value: str, rule: str) -> None:
    with pytest.raises(ValidationError, match=rule):
        LegalEntityConfig.model_validate({**ENTITY, field: value})


def test_catalog_reports_every_cross_reference() -> None:
    data = catalog(1, "2026-01-01")
    plan = data["plans"][0]
    plan["product"] = "nope"
    plan["charges"].append(
        {"type": "per_unit", "metric": "gb", "description": "x", "prices": {"USD": "1"}}
    )
    with pytest.raises(ValidationError) as raised:
        CatalogConfig.model_validate(data)
    issues = raised.value.errors()[0]["ctx"]["issues"]
    assert [loc for loc, _ in issues] == [
        ("plans", 0, "product"),
        ("plans", 0, "charges", 1, "metric"),
    ]
