"""The pricing part of the catalog: every charge model's YAML rules (located messages), the
demo v2 catalog, and the mapping to the pricing core (`models.pricing_terms`)."""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from billing.periods import BillingPeriod, Schedule
from billing.pricing import (
    Charge,
    Commitment,
    Coupon,
    ExtraLine,
    Graduated,
    Installments,
    OneTimeCharge,
    Package,
    Percentage,
    PerUnit,
    Phase,
    RecurringFee,
    Tier,
    Volume,
    price_usage,
)
from models.config import (
    CatalogConfig,
    ConfigSnapshot,
    UnknownCatalogVersionError,
    UnknownCouponError,
)
from models.config_loader import load_config
from models.pricing_terms import (
    InstallmentSpec,
    PricingTermsError,
    RatedChargeSpec,
    coupon_spec,
    plan_pricing,
)

ROOT = Path(__file__).resolve().parents[2]
D = Decimal

TIERS = [
    {"up_to": 1000, "unit_price": {"USD": "0.10", "EUR": "0.09"}},
    {"up_to": "5000.5", "unit_price": {"USD": "0.05", "EUR": "0.04"}},
    {"unit_price": {"USD": "0.01", "EUR": "0.01"}},
]


def catalog() -> dict[str, Any]:
    return {
        "version": 1,
        "effective_on": "2026-01-01",
        "metrics": [
            {"code": "api_calls", "name": "API calls", "aggregation": "sum", "unit": "call"},
            {"code": "payments", "name": "Payments", "aggregation": "sum", "unit": "payment"},
        ],
        "products": [{"code": "platform", "name": "Platform"}],
        "plans": [
            {
                "code": "pro",
                "name": "Pro",
                "product": "platform",
                "interval": "month",
                "charges": [
                    {"type": "flat", "description": "Platform fee",
                     "prices": {"USD": "10.00", "EUR": "9.00"}},
                    {"type": "graduated", "metric": "api_calls", "description": "API calls",
                     "tiers": copy.deepcopy(TIERS)},
                    {"type": "package", "metric": "api_calls", "code": "bulk",
                     "description": "Bulk", "package_size": 100,
                     "prices": {"USD": "1.00", "EUR": "0.90"}},
                    {"type": "percentage", "metric": "payments", "description": "Card fees",
                     "rate": "0.029", "fixed_fee": {"USD": "0.30", "EUR": "0.25"},
                     "min_fee": {"USD": "0.50", "EUR": "0.40"},
                     "max_fee": {"USD": "9.00", "EUR": "8.00"}},
                ],
            }
        ],
        "coupons": [{"code": "WELCOME10", "kind": "percent", "value": "10", "duration": "once"}],
    }  # fmt: skip


def problems(data: dict[str, Any]) -> list[tuple[tuple[Any, ...], str]]:
    with pytest.raises(ValidationError) as raised:
        CatalogConfig.model_validate(data)
    found: list[tuple[tuple[Any, ...], str]] = []
    for error in raised.value.errors():
        for loc, message in error.get("ctx", {}).get("issues", [((), error["msg"])]):
            found.append(((*error["loc"], *loc), message))
    return found


def plan0(data: dict[str, Any]) -> dict[str, Any]:
    plan: dict[str, Any] = data["plans"][0]
    return plan


def charge(i: int) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda data: plan0(data)["charges"][i]


Edit = Callable[[dict[str, Any]], None]


def _set(path: Callable[[dict[str, Any]], dict[str, Any]], key: str, value: Any) -> Edit:
    def edit(data: dict[str, Any]) -> None:
        target = path(data)
        if value is None:
            target.pop(key, None)
        else:
            target[key] = value

    return edit


def tier(i: int) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda data: plan0(data)["charges"][1]["tiers"][i]


def coupon(data: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = data["coupons"][0]
    return found


P = ("plans", 0)
C1 = (*P, "charges", 1)
RULES: list[tuple[str, Edit, tuple[Any, ...], str]] = [
    ("overlapping tiers", _set(tier(1), "up_to", 1000), (*C1, "tiers", 1, "up_to"),
     "tier overlaps tiers[0]: tiers must ascend strictly, but up_to 1000 equals the previous"),
    ("unsorted tiers", _set(tier(1), "up_to", 10), (*C1, "tiers", 1, "up_to"),
     "tiers must ascend strictly: up_to 10 is below the previous up_to 1000 (tiers[0])"),
    ("open tier in the middle", _set(tier(1), "up_to", None), (*C1, "tiers", 1),
     "only the last tier may omit up_to"),
    ("gap above the last tier", _set(tier(2), "up_to", 9000), (*C1, "tiers", 2, "up_to"),
     "gap above 9000: the last tier must omit up_to"),
    ("first tier up to 0", _set(tier(0), "up_to", 0), (*C1, "tiers", 0, "up_to"),
     "up_to must be greater than 0"),
    ("tier missing a currency", _set(tier(2), "unit_price", {"USD": "0.01"}),
     (*C1, "tiers", 2, "unit_price"), "no EUR price: every tier must be priced in the same"),
    ("tier flat price missing a currency", _set(tier(0), "flat_price", {"USD": "1.00"}),
     (*C1, "tiers", 0, "flat_price"), "no EUR price"),
    ("tier float amount", _set(tier(0), "unit_price", {"USD": 0.1, "EUR": "0.09"}),
     (*C1, "tiers", 0, "unit_price", "USD"), "amount must be a quoted decimal string"),
    ("float quantity", _set(tier(0), "up_to", 10.5), (*C1, "tiers", 0, "up_to"),
     "quantity must be an integer or a quoted decimal string"),
    ("negative free units", _set(charge(1), "free_units", "-5"), (*C1, "free_units"),
     "quantity must be >= 0"),
    ("unknown metric on graduated", _set(charge(1), "metric", "api_call"), (*C1, "metric"),
     "unknown metric 'api_call' (declared: api_calls, payments)"),
    ("zero package size", _set(charge(2), "package_size", 0), (*P, "charges", 2, "package_size"),
     "package_size must be at least 1 unit, got 0"),
    ("rate above 1", _set(charge(3), "rate", "2.9"), (*P, "charges", 3, "rate"),
     'rate is a fraction of the transacted amount between 0 and 1 ("0.029" means 2.9 %), got 2.9'),
    ("min fee above max fee", _set(charge(3), "min_fee", {"USD": "10.00", "EUR": "0.40"}),
     (*P, "charges", 3, "max_fee", "USD"), "max_fee 9.00 is below min_fee 10.00"),
    ("fees in other currencies", _set(charge(3), "max_fee", {"USD": "9.00"}),
     (*P, "charges", 3, "max_fee"), "no EUR price: every fee must be priced in the same"),
    ("missing currency price", _set(charge(2), "prices", {"USD": "1.00"}),
     (*P, "charges", 2, "prices"), "no EUR price: every charge of a plan must be priced in the"
     " same currencies as charges[0] (EUR, USD)"),
    ("flat amount below the minor unit", _set(charge(0), "prices", {"USD": "10.001", "EUR": "9"}),
     (*P, "charges", 0, "prices", "USD"), "a flat USD amount has at most 2 decimal places"),
    ("duplicate charge code", _set(charge(2), "code", "api_calls"), (*P, "charges", 2, "code"),
     "duplicate charge code 'api_calls' (first declared at charges[1].code): give one of them"),
    ("paid trial without trial days", _set(plan0, "trial_price", {"USD": "1.00", "EUR": "1.00"}),
     (*P, "trial_price"), "a paid trial needs trial_days > 0"),
    ("commitment missing a currency", _set(plan0, "minimum_commitment", {"USD": "100.00"}),
     (*P, "minimum_commitment"), "no EUR price"),
    ("evergreen phase not last",
     _set(plan0, "phases", [{"name": "intro"}, {"name": "evergreen"}]),
     (*P, "phases", 0), "only the last phase may omit periods (evergreen)"),
    ("last phase with periods", _set(plan0, "phases", [{"name": "intro", "periods": 3}]),
     (*P, "phases", 0, "periods"), "the last phase is evergreen: omit its periods"),
    ("override of an unknown charge",
     _set(plan0, "phases", [{"name": "intro", "periods": 1, "prices": {"nope": {"USD": "1"}}},
                            {"name": "evergreen"}]),
     (*P, "phases", 0, "prices", "nope"), "unknown charge code 'nope'"),
    ("override of a tiered charge",
     _set(plan0, "phases", [{"name": "intro", "periods": 1,
                             "prices": {"api_calls": {"USD": "1", "EUR": "1"}}},
                            {"name": "evergreen"}]),
     (*P, "phases", 0, "prices", "api_calls"), "a graduated charge cannot take an override"),
    ("factor and prices together",
     _set(plan0, "phases", [{"name": "intro", "periods": 1, "price_factor": "0.5",
                             "prices": {"bulk": {"USD": "1", "EUR": "1"}}},
                            {"name": "evergreen"}]),
     (*P, "phases", 0, "prices"), "set price_factor or prices, not both"),
    ("interval", _set(plan0, "interval", "fortnight"), (*P, "interval"), "Input should be"),
    ("percent coupon over 100", _set(coupon, "value", "150"), ("coupons", 0, "value"),
     "a percent coupon is between 0 and 100, got 150"),
    ("amount coupon with one number", _set(coupon, "kind", "amount"), ("coupons", 0, "value"),
     'an amount coupon takes an amount per currency, e.g. {USD: "5.00"}'),
    ("amount coupon with a float", _set(coupon, "value", {"USD": 5.0}),
     ("coupons", 0, "value", "USD"), "amount must be a quoted decimal string"),
    ("repeating coupon without periods", _set(coupon, "duration", "repeating"),
     ("coupons", 0, "periods"), "a repeating coupon needs periods"),
    ("periods on a once coupon", _set(coupon, "periods", 2), ("coupons", 0, "periods"),
     "periods is only for repeating coupons, not once"),
    ("coupon on an unknown charge", _set(coupon, "applies_to", "platfrom-fee"),
     ("coupons", 0, "applies_to"), "unknown charge code 'platfrom-fee'"),
    ("lower-case coupon code", _set(coupon, "code", "welcome10"), ("coupons", 0, "code"),
     "is not a valid coupon code"),
]  # fmt: skip


@pytest.mark.parametrize(("case", "edit", "loc", "message"), RULES, ids=[r[0] for r in RULES])
def test_each_rule_is_reported_where_it_is_broken(
    case: str, edit: Edit, loc: tuple[Any, ...], message: str
) -> None:
    data = catalog()
    CatalogConfig.model_validate(data)  # the base is valid
    edit(data)
    found = problems(data)
    assert len(found) == 1, found
    [(where, text)] = found
    assert tuple(p for p in where if p not in _TAGS) == loc
    assert message in text


_TAGS = {"flat", "graduated", "package", "percentage"}  # pydantic's union tags in error locs


def test_only_rated_charges_leave_the_plan_without_currencies() -> None:
    data = catalog()
    plan0(data)["charges"] = [
        {"type": "rated", "metric": "api_calls", "description": "Calls", "rate_table": "t"}
    ]
    [(loc, message)] = problems(data)
    assert loc == (*P, "charges")
    assert message.startswith("no charge is priced per currency")


# --- the shipped catalogs -------------------------------------------------------------------------

V1_SHA256 = "4d9a91b04c701b2d16b240b0333d887704985d65a1a45aba1fc07c3a254ac9b3"


def test_released_v1_is_unchanged_and_v2_keeps_its_plans() -> None:
    text = (ROOT / "config" / "catalog" / "demo.v1.yaml").read_bytes()
    assert hashlib.sha256(text).hexdigest() == V1_SHA256, "released catalogs are never edited"
    config = load_config(ROOT / "config")
    v1, v2 = config.catalog(1), config.catalog(2)
    assert config.catalog_on(date(2026, 12, 31)) is v1
    assert config.catalog_on(date(2027, 1, 1)) is v2
    for plan in v1.plans:
        assert v2.plan(plan.code) == plan
    types = {c.type for plan in v2.plans for c in plan.charges}
    assert types == {
        "flat", "per_unit", "graduated", "volume", "package", "percentage", "one_time",
        "installments", "rated",
    }  # fmt: skip
    assert {p.interval for p in v2.plans} == {"week", "month", "quarter", "year"}
    assert v2.coupon("LAUNCH50").applies_to == "platform-fee"
    with pytest.raises(UnknownCouponError, match=r"unknown coupon 'NOPE' in catalog v2"):
        v2.coupon("NOPE")
    with pytest.raises(UnknownCatalogVersionError, match=r"unknown catalog version 7 \(loaded"):
        config.catalog(7)


def test_v2_round_trips_as_json_with_amounts_as_strings() -> None:
    config = load_config(ROOT / "config")
    payload = config.model_dump_json()
    assert '"rate":"0.029"' in payload and '"up_to":"100000"' in payload
    assert '"value":{"USD":"50.00","EUR":"45.00"}' in payload
    assert ConfigSnapshot.model_validate_json(payload) == config


def _snapshot_with(tables: list[dict[str, Any]] | None, charge: dict[str, Any]) -> dict[str, Any]:
    data = catalog()
    plan0(data)["charges"].append(charge)
    payload: dict[str, Any] = {"catalogs": [data], "ladders": [], "entities": []}
    if tables is not None:
        payload["rate_tables"] = tables
    return payload


RATED = {
    "type": "rated",
    "metric": "api_calls",
    "code": "calls",
    "description": "Calls",
    "rate_table": "telco-x",
}


@pytest.mark.parametrize(
    ("table_edit", "message"),
    [
        ({"code": "telco-y"}, "unknown rate table 'telco-x' (declared: telco-y)"),
        (
            {"metrics": {"voice": "voice_seconds"}},
            "rates the metrics voice_seconds, not 'api_calls'",
        ),
        ({"currency": "GBP"}, "rate table 'telco-x' prices in GBP, which plan 'pro' does not sell"),
    ],
)
def test_a_rated_charge_names_a_fitting_rate_table(
    table_edit: dict[str, Any], message: str
) -> None:
    config = load_config(ROOT / "config")
    table = config.rate_table("telco-demo").model_dump(mode="json")
    table.update({"code": "telco-x", "metrics": {"voice": "api_calls"}, **table_edit})
    with pytest.raises(ValidationError) as raised:
        ConfigSnapshot.model_validate(_snapshot_with([table], RATED))
    [(loc, text)] = raised.value.errors()[0]["ctx"]["issues"]
    assert loc == ("catalogs", 0, "plans", 0, "charges", 4, "rate_table")
    assert message in text
    table.update({"code": "telco-x", "metrics": {"voice": "api_calls"}, "currency": "USD"})
    ConfigSnapshot.model_validate(_snapshot_with([table], RATED))


def test_a_rated_charge_without_any_rate_table() -> None:
    with pytest.raises(ValidationError, match=r"unknown rate table 'telco-x' \(declared: none\)"):
        ConfigSnapshot.model_validate(_snapshot_with(None, RATED))


# --- mapping to the core --------------------------------------------------------------------------


def test_plan_pricing_maps_every_charge_to_the_core_in_one_currency() -> None:
    data = catalog()
    plan0(data).update(
        trial_days=14,
        trial_price={"USD": "1.00", "EUR": "1.00"},
        minimum_commitment={"USD": "100.00", "EUR": "90.00"},
        interval="year",
        alignment="anniversary",
        change_policy="end_of_term",
        phases=[
            {"name": "intro", "periods": 2,
             "prices": {"platform-fee": {"USD": "5.00", "EUR": "4.50"}}},
            {"name": "evergreen"},
        ],
    )  # fmt: skip
    plan0(data)["charges"] += [
        {"type": "volume", "metric": "api_calls", "code": "vol", "description": "Volume",
         "free_units": "0.5", "tiers": copy.deepcopy(TIERS)},
        {"type": "one_time", "description": "Setup", "prices": {"USD": "99.00", "EUR": "90.00"}},
        {"type": "installments", "description": "Device", "count": 3,
         "total": {"USD": "100.00", "EUR": "90.00"}},
        {"type": "rated", "metric": "api_calls", "code": "calls", "description": "Calls",
         "rate_table": "t"},
    ]  # fmt: skip
    pricing = plan_pricing(CatalogConfig.model_validate(data).plan("pro"), "EUR")
    tiers = (Tier(D(1000), D("0.09")), Tier(D("5000.5"), D("0.04")), Tier(None, D("0.01")))
    fee = Charge("platform-fee", "Platform fee", RecurringFee(D("9.00"), "advance", True))
    assert pricing.charges == (
        fee,
        Charge("api_calls", "API calls", Graduated(tiers), "api_calls"),
        Charge("bulk", "Bulk", Package(100, D("0.90")), "api_calls"),
        Charge("payments", "Card fees", Percentage(D("0.029"), D("0.25"), D("0.40"), D("8.00")),
               "payments"),
        Charge("vol", "Volume", Volume(tiers, D("0.5")), "api_calls"),
    )  # fmt: skip
    assert pricing.one_time == (OneTimeCharge("Setup", D("90.00"), code="setup"),)
    assert pricing.installments == (
        InstallmentSpec("device", "Device", Installments(D("90.00"), 3)),
    )
    assert pricing.installments[0].plan(date(2027, 1, 31)).due_on(2) == date(2027, 2, 28)
    assert pricing.rated == (RatedChargeSpec("calls", "Calls", "api_calls", "t"),)
    assert pricing.trial_charge == OneTimeCharge("Trial (14 days)", D("1.00"), code="trial")
    assert pricing.commitment == Commitment(D("90.00"))
    assert (pricing.interval, pricing.alignment, pricing.change_policy) == (
        "year", "anniversary", "end_of_term",
    )  # fmt: skip
    intro_fee = Charge("platform-fee", "Platform fee", RecurringFee(D("4.50"), "advance", True))
    assert pricing.phases == (
        Phase("intro", 2, D(1), (intro_fee, *pricing.charges[1:])),
        Phase("evergreen", None, D(1)),
    )


def test_the_v1_plans_keep_their_meaning() -> None:
    """flat = a per-seat recurring fee in advance; per_unit = quantity x price, no free units."""
    plan = load_config(ROOT / "config").catalog(1).plan("growth-monthly")
    pricing = plan_pricing(plan, "USD")
    assert pricing.charges == (
        Charge("platform-fee", "Platform fee", RecurringFee(D("199.00"), "advance", True)),
        Charge("api_calls", "API calls", PerUnit(D("0.0015")), "api_calls"),
        Charge("storage_gb", "Storage", PerUnit(D("0.20")), "storage_gb"),
    )
    assert (pricing.interval, pricing.alignment, pricing.change_policy) == (
        "month", "calendar", "immediate",
    )  # fmt: skip
    assert pricing.phases == () and pricing.commitment is None and pricing.trial_charge is None


def test_a_plan_is_only_priced_in_a_currency_it_sells_in() -> None:
    plan = CatalogConfig.model_validate(catalog()).plan("pro")
    with pytest.raises(PricingTermsError, match=r"plan 'pro' is not sold in JPY \(it is priced"):
        plan_pricing(plan, "JPY")


def test_coupon_specs() -> None:
    v2 = load_config(ROOT / "config").catalog(2)
    assert coupon_spec(v2.coupon("WELCOME10"), "USD") == Coupon("WELCOME10", "percent", D(10))
    assert coupon_spec(v2.coupon("LAUNCH50"), "EUR") == Coupon(
        "LAUNCH50", "amount", D("45.00"), "repeating", 3, "platform-fee"
    )
    with pytest.raises(PricingTermsError, match=r"coupon 'LAUNCH50' has no JPY amount"):
        coupon_spec(v2.coupon("LAUNCH50"), "JPY")


@given(st.integers(min_value=0, max_value=3_000_000))
def test_the_showcase_graduated_price_never_decreases(quantity: int) -> None:
    plan = _V2.plan("api-graduated-monthly")
    model = plan_pricing(plan, "USD").charges[1].model
    assert isinstance(model, Graduated)
    here, after = price_usage(model, D(quantity)), price_usage(model, D(quantity + 1))
    assert D(0) <= here <= after


_V2 = load_config(ROOT / "config").catalog(2)


def test_plan_pricing_helpers_for_the_subscription_terms() -> None:
    device = plan_pricing(_V2.plan("device-monthly"), "EUR")
    period = BillingPeriod(date(2027, 1, 31), date(2027, 2, 28))
    [activation] = device.first_invoice_lines("sub-1", period)
    assert activation == ExtraLine(
        "one_time", "Activation", "sub-1", None, D(1), D("45.00"), D("45.000000000"),
        date(2027, 1, 31), date(2027, 2, 28), "activation",
    )  # fmt: skip
    [terminal] = device.installment_plans(date(2027, 1, 31))
    assert [terminal.due_on(n) for n in (1, 2, 3)] == [
        date(2027, 1, 31), date(2027, 2, 28), date(2027, 3, 31),
    ]  # fmt: skip
    assert device.schedule(5) == Schedule("month", "calendar", 5)
    assert device.schedule() == Schedule("month", "calendar", None)
    assert plan_pricing(_V2.plan("team-annual"), "USD").schedule(5) == Schedule(
        "year", "anniversary"
    )
    intro = plan_pricing(_V2.plan("intro-monthly"), "USD")
    [trial] = intro.first_invoice_lines("s", period)
    assert (trial.description, trial.amount, trial.charge_code) == (
        "Trial (30 days)", D("1.000000000"), "trial",
    )  # fmt: skip
