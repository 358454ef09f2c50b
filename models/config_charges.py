"""The charges a catalog plan can carry, one model per pricing model (`type` chooses it).

Every charge has an optional `code` (default: its metric, or its description in lower case with
'-' for spaces) that coupons and phase overrides name, a `description`, and its prices per
currency. `prices` is each charge's headline price per currency (what `plan_prices` records):
the unit price of the first tier for tiered charges, the fixed fee for percentage charges, the
total for installments; rated charges are priced by their rate table and have none.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Annotated, Literal

from babel.numbers import get_currency_precision
from pydantic import Field, StrictInt, field_validator, model_validator

from models.config_types import (
    Amount,
    Code,
    Issue,
    Loc,
    Prices,
    Quantity,
    Text,
    _Config,
    rules_error,
)

_SLUG_RE = re.compile(r"[^a-z0-9]+")


def minor_unit_issues(prices: dict[str, Decimal], what: str, base: Loc = ()) -> list[Issue]:
    """A literal price (a flat fee, a total) has at most its currency's decimal places."""
    issues: list[Issue] = []
    for currency, amount in prices.items():
        allowed = get_currency_precision(currency)
        if -int(amount.as_tuple().exponent) > allowed:
            issues.append(
                (
                    (*base, currency),
                    f"a {what} {currency} amount has at most {allowed} decimal places,"
                    f" got {amount:f}",
                )
            )
    return issues


def same_currencies(
    named: Sequence[tuple[Loc, dict[str, Decimal]]], what: str, first: str
) -> list[Issue]:
    """Every price map in `named` lists the currencies of the first one."""
    if not named:
        return []
    expected = set(named[0][1])
    listed = ", ".join(sorted(expected))
    issues: list[Issue] = []
    for loc, prices in named[1:]:
        for currency in sorted(expected - set(prices)):
            issues.append(
                (loc, f"no {currency} price: every {what} must be priced in the same currencies"
                 f" as {first} ({listed})")
            )  # fmt: skip
        for currency in sorted(set(prices) - expected):
            issues.append(
                ((*loc, currency), f"{currency} is not priced on {first}: every {what} must be"
                 f" priced in the same currencies ({listed})")
            )  # fmt: skip
    return issues


def _raise(issues: list[Issue]) -> None:
    if issues:
        raise rules_error(issues)


class _Charge(_Config):
    code: Code | None = None
    description: Text

    @property
    def charge_code(self) -> str:
        """`code` if set, else the metric code, else the description as a code."""
        if self.code is not None:
            return self.code
        metric = getattr(self, "metric", None)
        if isinstance(metric, str):
            return metric
        return _SLUG_RE.sub("-", self.description.lower()).strip("-") or "charge"

    @property
    def currencies(self) -> frozenset[str] | None:
        """The currencies this charge is priced in; None when its price is not per currency."""
        prices: dict[str, Decimal] = getattr(self, "prices")  # noqa: B009 (property or field)
        return frozenset(prices)


class FlatChargeConfig(_Charge):
    """A recurring fee per period, times the subscription's quantity when `per_seat`."""

    type: Literal["flat"] = "flat"
    prices: Prices
    timing: Literal["advance", "arrears"] = "advance"
    per_seat: bool = True

    @field_validator("prices")
    @classmethod
    def _minor_units(cls, prices: dict[str, Decimal]) -> dict[str, Decimal]:
        _raise(minor_unit_issues(prices, "flat"))
        return prices


class PerUnitChargeConfig(_Charge):
    type: Literal["per_unit"] = "per_unit"
    metric: Code
    prices: Prices
    free_units: Quantity = Decimal(0)


class TierConfig(_Config):
    up_to: Quantity | None = None  # None: the last, open-ended tier
    unit_price: Prices
    flat_price: Prices | None = None


class _TieredCharge(_Charge):
    metric: Code
    tiers: Annotated[list[TierConfig], Field(min_length=1)]
    free_units: Quantity = Decimal(0)

    @property
    def prices(self) -> dict[str, Decimal]:
        return dict(self.tiers[0].unit_price)

    @model_validator(mode="after")
    def _tier_rules(self) -> _TieredCharge:
        issues = _tier_bounds(self.tiers)
        issues += same_currencies(
            [(("tiers", i, "unit_price"), t.unit_price) for i, t in enumerate(self.tiers)],
            "tier",
            "tiers[0].unit_price",
        )
        reference = self.tiers[0].unit_price
        for i, tier in enumerate(self.tiers):
            if tier.flat_price is not None:
                issues += same_currencies(
                    [((), reference), (("tiers", i, "flat_price"), tier.flat_price)],
                    "tier",
                    "tiers[0].unit_price",
                )
        _raise(issues)
        return self


def _tier_bounds(tiers: list[TierConfig]) -> list[Issue]:
    """Tiers ascend strictly; only the last omits up_to (so no quantity is left unpriced)."""
    issues: list[Issue] = []
    last = len(tiers) - 1
    for i, tier in enumerate(tiers[:last]):
        if tier.up_to is None:
            issues.append(
                (("tiers", i), "only the last tier may omit up_to: the tiers after an"
                 " open-ended tier could never be reached")
            )  # fmt: skip
    if tiers[last].up_to is not None:
        issues.append(
            (("tiers", last, "up_to"), f"gap above {tiers[last].up_to:f}: the last tier must"
             " omit up_to so that every quantity has a price")
        )  # fmt: skip
    if tiers[0].up_to == 0:
        issues.append((("tiers", 0, "up_to"), "up_to must be greater than 0"))
    bounded = [(i, t.up_to) for i, t in enumerate(tiers) if t.up_to is not None]
    for (j, before), (i, after) in itertools.pairwise(bounded):
        if after == before:
            issues.append(
                (("tiers", i, "up_to"), f"tier overlaps tiers[{j}]: tiers must ascend strictly,"
                 f" but up_to {after:f} equals the previous up_to")
            )  # fmt: skip
        elif after < before:
            issues.append(
                (("tiers", i, "up_to"), f"tiers must ascend strictly: up_to {after:f} is below"
                 f" the previous up_to {before:f} (tiers[{j}])")
            )  # fmt: skip
    return issues


class GraduatedChargeConfig(_TieredCharge):
    """Each unit is priced by the tier it falls in (a tier's flat price once it is entered)."""

    type: Literal["graduated"] = "graduated"


class VolumeChargeConfig(_TieredCharge):
    """All units are priced by the tier the total quantity falls in."""

    type: Literal["volume"] = "volume"


class PackageChargeConfig(_Charge):
    """Blocks of `package_size` units; a started block is billed whole."""

    type: Literal["package"] = "package"
    metric: Code
    package_size: StrictInt
    prices: Prices  # per package
    free_units: Quantity = Decimal(0)

    @model_validator(mode="after")
    def _size(self) -> PackageChargeConfig:
        if self.package_size < 1:
            _raise(
                [
                    (
                        ("package_size",),
                        f"package_size must be at least 1 unit, got {self.package_size}",
                    )
                ]
            )
        return self


class PercentageChargeConfig(_Charge):
    """A share of each transacted amount, plus a fixed fee, kept within min/max per transaction."""

    type: Literal["percentage"] = "percentage"
    metric: Code
    rate: Amount  # "0.029" is 2.9 %
    fixed_fee: Prices | None = None
    min_fee: Prices | None = None
    max_fee: Prices | None = None

    @property
    def prices(self) -> dict[str, Decimal]:
        return dict(self.fixed_fee or self.min_fee or self.max_fee or {})

    @property
    def currencies(self) -> frozenset[str] | None:
        return frozenset(self.prices) or None

    @model_validator(mode="after")
    def _fees(self) -> PercentageChargeConfig:
        issues: list[Issue] = []
        if self.rate > 1:
            issues.append(
                (("rate",), f"rate is a fraction of the transacted amount between 0 and 1"
                 f' ("0.029" means 2.9 %), got {self.rate:f}')
            )  # fmt: skip
        fees = [((name,), fee) for name, fee in self._fee_maps() if fee is not None]
        issues += same_currencies(fees, "fee", str(fees[0][0][0]) if fees else "")
        if self.min_fee is not None and self.max_fee is not None:
            for currency, high in self.max_fee.items():
                low = self.min_fee.get(currency)
                if low is not None and low > high:
                    issues.append(
                        (("max_fee", currency), f"max_fee {high:f} is below min_fee {low:f}")
                    )
        _raise(issues)
        return self

    def _fee_maps(self) -> list[tuple[str, dict[str, Decimal] | None]]:
        return [("fixed_fee", self.fixed_fee), ("min_fee", self.min_fee), ("max_fee", self.max_fee)]


class OneTimeChargeConfig(_Charge):
    """Billed once, on the subscription's first invoice."""

    type: Literal["one_time"] = "one_time"
    prices: Prices

    @field_validator("prices")
    @classmethod
    def _minor_units(cls, prices: dict[str, Decimal]) -> dict[str, Decimal]:
        _raise(minor_unit_issues(prices, "one-time"))
        return prices


class InstallmentsChargeConfig(_Charge):
    """`total` spread over `count` invoices (the last instalment absorbs rounding)."""

    type: Literal["installments"] = "installments"
    total: Prices
    count: StrictInt = Field(ge=1)

    @property
    def prices(self) -> dict[str, Decimal]:
        return dict(self.total)

    @field_validator("total")
    @classmethod
    def _minor_units(cls, total: dict[str, Decimal]) -> dict[str, Decimal]:
        _raise(minor_unit_issues(total, "total"))
        return total


class RatedChargeConfig(_Charge):
    """Telco-style: each event of `metric` is priced by the rate table `rate_table`."""

    type: Literal["rated"] = "rated"
    metric: Code
    rate_table: Code

    @property
    def prices(self) -> dict[str, Decimal]:
        return {}

    @property
    def currencies(self) -> frozenset[str] | None:
        return None


UsageChargeConfig = (
    PerUnitChargeConfig
    | GraduatedChargeConfig
    | VolumeChargeConfig
    | PackageChargeConfig
    | PercentageChargeConfig
    | RatedChargeConfig
)
ChargeConfig = Annotated[
    FlatChargeConfig
    | PerUnitChargeConfig
    | GraduatedChargeConfig
    | VolumeChargeConfig
    | PackageChargeConfig
    | PercentageChargeConfig
    | OneTimeChargeConfig
    | InstallmentsChargeConfig
    | RatedChargeConfig,
    Field(discriminator="type"),
]
OVERRIDABLE = (FlatChargeConfig, PerUnitChargeConfig, PackageChargeConfig)  # one price each
