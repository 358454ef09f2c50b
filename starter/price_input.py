"""The input of `o2c price`: options or a YAML/JSON file, validated into a `PriceRequest`,
and the plan it names (from a catalog, or one inline charge in catalog syntax)."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from billing.periods import Interval
from models.config_catalog import CatalogConfig, PlanConfig
from models.config_charges import ChargeConfig
from models.config_types import Amount, Code, CurrencyCode, Quantity


class PriceInputError(ValueError):
    """Bad arguments or input file: the message names what was wrong and how to fix it."""


class PriceRequest(BaseModel):
    """What to price: the command's options, or the same keys in a YAML/JSON `--input` file
    (`charge:` holds one inline charge in catalog syntax instead of `plan:`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    catalog: Path | None = None
    plan: Code | None = None
    charge: dict[str, Any] | None = None
    interval: Interval = "month"  # for an inline charge
    currency: CurrencyCode
    period_start: date
    period_end: date | None = None
    bill_cycle_day: int | None = Field(default=None, ge=1, le=31)
    seats: int = Field(default=1, ge=0)
    usage: dict[Code, Quantity] = Field(default_factory=dict)
    transactions: dict[Code, list[Amount]] = Field(default_factory=dict)
    coupons: list[str] = Field(default_factory=list)
    credits: Amount | None = None

    @model_validator(mode="after")
    def _one_subject(self) -> PriceRequest:
        if (self.plan is None) == (self.charge is None):
            raise ValueError("give a plan (--plan) or an inline charge (charge: in --input)")
        if self.period_end is not None and self.period_end <= self.period_start:
            raise ValueError("period_end must be after period_start (periods are [start, end))")
        both = sorted(set(self.usage) & set(self.transactions))
        if both:
            raise ValueError(f"metric {both[0]!r} is given both as usage and as transactions")
        return self


# --- reading arguments ----------------------------------------------------------------------------


class _ExactLoader(yaml.SafeLoader):
    """YAML numbers with a fraction are read as exact Decimals, never floats."""


def _exact_number(loader: yaml.SafeLoader, node: yaml.Node) -> Decimal:
    assert isinstance(node, yaml.ScalarNode)
    return Decimal(loader.construct_scalar(node))


_ExactLoader.add_constructor("tag:yaml.org,2002:float", _exact_number)


def read_input(path: Path) -> dict[str, Any]:
    """The mapping in a YAML or JSON file (numbers read exactly)."""
    try:
        text = path.read_text(encoding="utf-8")
        data = (
            json.loads(text, parse_float=Decimal)
            if path.suffix == ".json"
            else yaml.load(text, Loader=_ExactLoader)
        )
    except OSError as exc:
        raise PriceInputError(f"--input: cannot read {path}: {exc.strerror}") from None
    except (ValueError, yaml.YAMLError) as exc:
        raise PriceInputError(f"--input: {path} is not valid YAML or JSON: {exc}") from None
    if not isinstance(data, dict):
        raise PriceInputError(f"--input: {path} must hold a mapping such as `plan: growth-monthly`")
    return data


def parse_pairs(option: str, items: list[str], many: bool) -> dict[str, Any]:
    """`metric=12.5` (or `metric=1.00,2.50` when `many`) pairs as exact Decimals."""
    parsed: dict[str, Any] = {}
    for item in items:
        metric, sep, value = item.partition("=")
        try:
            if not sep or not metric or not value:
                raise InvalidOperation
            numbers = [Decimal(v) for v in value.split(",")] if many else [Decimal(value)]
            if not all(n.is_finite() for n in numbers):
                raise InvalidOperation
        except InvalidOperation:
            example = "payments=100.00,250.00" if many else "api_calls=120000"
            raise PriceInputError(
                f"{option}: {item!r} is not METRIC={'AMOUNT,...' if many else 'QUANTITY'}"
                f" (e.g. {example})"
            ) from None
        parsed[metric] = [str(n) for n in numbers] if many else str(numbers[0])
    return parsed


def build_request(file_data: dict[str, Any], options: dict[str, Any]) -> PriceRequest:
    """The file's keys, overridden by the options given on the command line."""
    data = {**file_data, **{k: v for k, v in options.items() if v not in (None, [], {})}}
    try:
        return PriceRequest.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = [str(p) for p in first["loc"]]
        where = ".".join([f"--{loc[0].replace('_', '-')}", *loc[1:]]) if loc else "input"
        message = first["msg"].removeprefix("Value error, ")
        raise PriceInputError(f"{where}: {message[:1].lower()}{message[1:]}") from None


# --- resolving the plan ---------------------------------------------------------------------------


def inline_plan(charge: dict[str, Any], interval: Interval) -> PlanConfig:
    """One charge in catalog syntax, as a one-charge plan (same rules as in a catalog)."""
    try:
        TypeAdapter(ChargeConfig).validate_python(charge)
        return PlanConfig.model_validate(
            {
                "code": "inline",
                "name": "Inline charge",
                "product": "inline",
                "interval": interval,
                "charges": [charge],
            }
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        issues = first.get("ctx", {}).get("issues")
        if issues:
            loc, message = issues[0]
            where = ".".join(str(p) for p in (*first["loc"], *loc))
        else:
            where, message = ".".join(str(p) for p in first["loc"]), first["msg"]
        raise PriceInputError(f"charge: {where}: {message}") from None


def resolve_plan(request: PriceRequest, catalog: CatalogConfig | None) -> PlanConfig:
    if request.charge is not None:
        return inline_plan(request.charge, request.interval)
    assert catalog is not None and request.plan is not None
    try:
        return catalog.plan(request.plan)
    except KeyError as exc:
        raise PriceInputError(f"--plan: {exc}") from None
