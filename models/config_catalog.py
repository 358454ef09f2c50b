"""The catalog: products, plans (interval, alignment, trial, phases, commitment, change policy,
charges) and coupons. Charges are in ``models.config_charges``."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    Field,
    PlainSerializer,
    StrictInt,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from models.config_charges import (
    OVERRIDABLE,
    ChargeConfig,
    minor_unit_issues,
    same_currencies,
)
from models.config_metrics import MetricConfig
from models.config_types import (
    Amount,
    Code,
    CouponCode,
    Issue,
    Loc,
    Prices,
    Text,
    UnknownConfigError,
    UnknownPlanError,
    _check_currency,
    _Config,
    _duplicates,
    _listing,
    _parse_amount,
    rules_error,
)

Interval = Literal["week", "month", "quarter", "year"]


class UnknownCouponError(UnknownConfigError):
    pass


class UnknownCatalogVersionError(UnknownConfigError):
    pass


class ProductConfig(_Config):
    code: Code
    name: Text


class PhaseConfig(_Config):
    """A stage of a plan, counted from the subscription's start date: `periods` long (omitted:
    evergreen), at the list price, at `price_factor` times it, or at override `prices` per
    charge code."""

    name: Code
    periods: StrictInt | None = Field(default=None, ge=1)
    price_factor: Amount | None = None
    prices: dict[Code, Prices] | None = None

    @model_validator(mode="after")
    def _one_way(self) -> PhaseConfig:
        if self.price_factor is not None and self.prices is not None:
            raise rules_error([(("prices",), "set price_factor or prices, not both")])
        return self


def _coupon_value(value: Any) -> Decimal | dict[str, Decimal]:
    """A percent ("10") or an amount per currency ({USD: "5.00"})."""
    if not isinstance(value, dict):
        return _parse_amount(value)
    issues: list[Issue] = []
    parsed: dict[str, Decimal] = {}
    for currency, amount in value.items():
        try:
            parsed[_check_currency(str(currency))] = _parse_amount(amount)
        except PydanticCustomError as exc:
            issues.append(((str(currency),), exc.message()))
    if issues:
        raise rules_error(issues)
    return parsed


def _dump_coupon_value(value: Decimal | dict[str, Decimal]) -> str | dict[str, str]:
    if isinstance(value, dict):
        return {currency: format(amount, "f") for currency, amount in value.items()}
    return format(value, "f")


CouponValue = Annotated[
    Decimal | dict[str, Decimal],
    Field(union_mode="left_to_right"),
    PlainSerializer(_dump_coupon_value, when_used="json"),
]


class CouponConfig(_Config):
    """percent: `value` is a percentage ("10"); amount: `value` is an amount per currency.
    once: the next invoice; repeating: `periods` invoices; forever. `applies_to`: a charge code,
    or omitted for the whole invoice."""

    code: CouponCode
    kind: Literal["percent", "amount"]
    value: CouponValue
    duration: Literal["once", "repeating", "forever"]
    periods: StrictInt | None = Field(default=None, ge=1)
    applies_to: Code | None = None

    @field_validator("value", mode="before")
    @classmethod
    def _parse_value(cls, value: Any) -> Decimal | dict[str, Decimal]:
        return _coupon_value(value)

    @model_validator(mode="after")
    def _rules(self) -> CouponConfig:
        issues: list[Issue] = []
        if self.kind == "percent":
            if isinstance(self.value, dict):
                issues.append((("value",), 'a percent coupon takes one number, e.g. value: "10"'))
            elif not 0 < self.value <= 100:
                issues.append(
                    (("value",), f"a percent coupon is between 0 and 100, got {self.value:f}")
                )
        elif not isinstance(self.value, dict) or not self.value:
            issues.append(
                (("value",), 'an amount coupon takes an amount per currency, e.g. {USD: "5.00"}')
            )
        else:
            issues += minor_unit_issues(self.value, "coupon", ("value",))
        if self.duration == "repeating" and self.periods is None:
            issues.append((("periods",), "a repeating coupon needs periods (how many invoices)"))
        if self.duration != "repeating" and self.periods is not None:
            issues.append(
                (("periods",), f"periods is only for repeating coupons, not {self.duration}")
            )
        if issues:
            raise rules_error(issues)
        return self


class PlanConfig(_Config):
    code: Code
    name: Text
    product: Code
    interval: Interval
    alignment: Literal["calendar", "anniversary"] = "calendar"
    trial_days: StrictInt = Field(default=0, ge=0)
    trial_price: Prices | None = None  # a paid trial: this amount for the whole trial
    phases: list[PhaseConfig] | None = None
    minimum_commitment: Prices | None = None  # per period
    change_policy: Literal["immediate", "end_of_term"] = "immediate"
    charges: Annotated[list[ChargeConfig], Field(min_length=1)]

    @model_validator(mode="after")
    def _plan_rules(self) -> PlanConfig:
        issues = self._currency_issues() + self._charge_code_issues()
        issues += self._trial_issues() + self._phase_issues()
        if issues:
            raise rules_error(issues)
        return self

    def _reference(self) -> int | None:
        return next((i for i, c in enumerate(self.charges) if c.currencies is not None), None)

    @property
    def currencies(self) -> frozenset[str]:
        """The currencies the plan sells in (those of its first charge priced per currency)."""
        first = self._reference()
        return frozenset() if first is None else frozenset(self.charges[first].prices)

    def charge(self, code: str) -> ChargeConfig:
        for charge in self.charges:
            if charge.charge_code == code:
                return charge
        known = _listing(c.charge_code for c in self.charges)
        raise UnknownConfigError(f"plan {self.code!r} has no charge {code!r} (charges: {known})")

    def _currency_issues(self) -> list[Issue]:
        first = self._reference()
        if first is None:
            return [(("charges",), "no charge is priced per currency: add one (e.g. a flat fee)"
                     " so the plan says which currencies it sells in")]  # fmt: skip
        priced = [
            (("charges", i, "prices"), dict(c.prices))
            for i, c in enumerate(self.charges)
            if c.currencies is not None
        ]
        what, name = "charge of a plan", f"charges[{first}]"
        issues = same_currencies(priced, what, name)
        reference = dict(self.charges[first].prices)
        for field in ("trial_price", "minimum_commitment"):
            prices = getattr(self, field)
            if prices is not None:
                issues += same_currencies(
                    [((), reference), ((field,), prices)], f"{field} of a plan", name
                )
                issues += minor_unit_issues(prices, field.replace("_", " "), (field,))
        return issues

    def _charge_code_issues(self) -> list[Issue]:
        codes = [(("charges", i, "code"), c.charge_code) for i, c in enumerate(self.charges)]
        issues = _duplicates(codes, "charge code")
        return [(loc, f"{msg}: give one of them an explicit code") for loc, msg in issues]

    def _trial_issues(self) -> list[Issue]:
        if self.trial_price is not None and self.trial_days == 0:
            return [(("trial_price",), "a paid trial needs trial_days > 0")]
        return []

    def _phase_issues(self) -> list[Issue]:
        if not self.phases:
            return []
        issues = _duplicates(
            ((("phases", i, "name"), p.name) for i, p in enumerate(self.phases)), "phase name"
        )
        last = len(self.phases) - 1
        for i, phase in enumerate(self.phases):
            if i < last and phase.periods is None:
                issues.append((("phases", i), "only the last phase may omit periods (evergreen)"))
            issues += self._override_issues(i, phase)
        if self.phases[last].periods is not None:
            issues.append(
                (("phases", last, "periods"), "the last phase is evergreen: omit its periods")
            )
        return issues

    def _override_issues(self, index: int, phase: PhaseConfig) -> list[Issue]:
        issues: list[Issue] = []
        by_code = {c.charge_code: c for c in self.charges}
        for code, prices in (phase.prices or {}).items():
            loc: Loc = ("phases", index, "prices", code)
            charge = by_code.get(code)
            if charge is None:
                issues.append((loc, f"unknown charge code {code!r} (charges: {_listing(by_code)})"))
            elif not isinstance(charge, OVERRIDABLE):
                issues.append((loc, f"a {charge.type} charge cannot take an override price;"
                               " use price_factor"))  # fmt: skip
            else:
                issues += same_currencies(
                    [((), dict(charge.prices)), (loc, prices)], "override", f"charge {code!r}"
                )
        return issues


class CatalogConfig(_Config):
    kind: Literal["catalog"] = "catalog"
    version: StrictInt = Field(ge=1)
    effective_on: date
    metrics: list[MetricConfig] = Field(default_factory=list)
    products: Annotated[list[ProductConfig], Field(min_length=1)]
    plans: Annotated[list[PlanConfig], Field(min_length=1)]
    coupons: list[CouponConfig] = Field(default_factory=list)

    @field_validator("metrics", "products", "plans", "coupons")
    @classmethod
    def _unique_codes(cls, items: list[Any], info: ValidationInfo) -> Any:
        field = str(info.field_name)
        what = {
            "metrics": "metric code",
            "products": "product code",
            "plans": "plan code",
            "coupons": "coupon code",
        }[field]
        codes: list[tuple[Loc, str]] = [((i, "code"), item.code) for i, item in enumerate(items)]
        issues = _duplicates(codes, what, (field,))
        if issues:
            raise rules_error(issues)
        return items

    @model_validator(mode="after")
    def _references(self) -> CatalogConfig:
        issues = self._plan_references() + self._coupon_references()
        if issues:
            raise rules_error(issues)
        return self

    def _plan_references(self) -> list[Issue]:
        products = {p.code for p in self.products}
        metrics = {m.code for m in self.metrics}
        issues: list[Issue] = []
        for i, plan in enumerate(self.plans):
            if plan.product not in products:
                issues.append(
                    (("plans", i, "product"),
                     f"unknown product {plan.product!r} (declared: {_listing(products)})")
                )  # fmt: skip
            for j, charge in enumerate(plan.charges):
                metric = getattr(charge, "metric", None)
                if metric is not None and metric not in metrics:
                    issues.append(
                        (("plans", i, "charges", j, "metric"),
                         f"unknown metric {metric!r} (declared: {_listing(metrics)})")
                    )  # fmt: skip
        return issues

    def _coupon_references(self) -> list[Issue]:
        codes = {c.charge_code for plan in self.plans for c in plan.charges}
        issues: list[Issue] = []
        for i, coupon in enumerate(self.coupons):
            if coupon.applies_to is not None and coupon.applies_to not in codes:
                issues.append(
                    (("coupons", i, "applies_to"),
                     f"unknown charge code {coupon.applies_to!r}: a coupon applies to a charge"
                     f" code of this catalog ({_listing(codes)}) or, without applies_to,"
                     " to the whole invoice")
                )  # fmt: skip
        return issues

    def plan(self, code: str) -> PlanConfig:
        for plan in self.plans:
            if plan.code == code:
                return plan
        raise UnknownPlanError(
            f"unknown plan {code!r} in catalog v{self.version}"
            f" (plans: {_listing(p.code for p in self.plans)})"
        )

    def metric(self, code: str) -> MetricConfig:
        for metric in self.metrics:
            if metric.code == code:
                return metric
        raise UnknownConfigError(f"unknown metric {code!r} in catalog v{self.version}")

    def coupon(self, code: str) -> CouponConfig:
        for coupon in self.coupons:
            if coupon.code == code:
                return coupon
        raise UnknownCouponError(
            f"unknown coupon {code!r} in catalog v{self.version}"
            f" (coupons: {_listing(c.code for c in self.coupons)})"
        )
