"""Validated configuration contracts: catalogs, dunning ladders, legal entities.

These models are what the YAML under ``config/`` must look like (see ``models.config_loader`` for
reading files and reporting problems with their line numbers). A ``ConfigSnapshot`` is small,
JSON-serializable (amounts serialize as strings) and travels as Temporal workflow input.

Rules that relate several fields are reported as one ``config_rules`` error whose context holds
``issues``: ``(relative loc, message)`` pairs, so that a loader can point at the exact field.
"""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, Literal

from babel.numbers import get_currency_precision
from pydantic import (
    AfterValidator,
    Field,
    StrictInt,
    ValidationInfo,
    field_validator,
    model_validator,
)

from billing.dunning import DunningAction
from models.config_metrics import MetricConfig
from models.config_types import (  # noqa: F401  (re-exported: older imports use models.config)
    AMOUNT_NOT_STRING,
    CONFIG_RULES,
    LAST_STEP_ONLY,
    NOTICE_ACTIONS,
    NOTICE_TEMPLATES,
    Amount,
    Code,
    CurrencyCode,
    Duration,
    Issue,
    Loc,
    NoCatalogError,
    Prices,
    Text,
    UnknownConfigError,
    UnknownEntityError,
    UnknownLadderError,
    UnknownPlanError,
    _check_country,
    _check_timezone,
    _Config,
    _dotted,
    _duplicates,
    _listing,
    parse_duration,
    rules_error,
)

if TYPE_CHECKING:
    from billing.dunning import DunningLadder, DunningStep


# --- catalog ------------------------------------------------------------------------------------


class ProductConfig(_Config):
    code: Code
    name: Text


class FlatChargeConfig(_Config):
    type: Literal["flat"] = "flat"
    description: Text
    prices: Prices

    @field_validator("prices")
    @classmethod
    def _minor_units(cls, prices: dict[str, Decimal]) -> dict[str, Decimal]:
        issues: list[Issue] = []
        for currency, amount in prices.items():
            allowed = get_currency_precision(currency)
            if -int(amount.as_tuple().exponent) > allowed:
                issues.append(
                    (
                        (currency,),
                        f"a flat {currency} amount has at most {allowed} decimal places,"
                        f" got {amount:f}",
                    )
                )
        if issues:
            raise rules_error(issues)
        return prices


class PerUnitChargeConfig(_Config):
    type: Literal["per_unit"] = "per_unit"
    metric: Code
    description: Text
    prices: Prices


ChargeConfig = Annotated[FlatChargeConfig | PerUnitChargeConfig, Field(discriminator="type")]


class PlanConfig(_Config):
    code: Code
    name: Text
    product: Code
    interval: Literal["month"]
    trial_days: StrictInt = Field(default=0, ge=0)
    charges: Annotated[list[ChargeConfig], Field(min_length=1)]

    @model_validator(mode="after")
    def _same_currencies(self) -> PlanConfig:
        expected = set(self.charges[0].prices)
        listed = ", ".join(sorted(expected))
        issues: list[Issue] = []
        for i, charge in enumerate(self.charges[1:], start=1):
            missing, extra = expected - set(charge.prices), set(charge.prices) - expected
            for currency in sorted(missing):
                issues.append(
                    (
                        ("charges", i, "prices"),
                        f"no {currency} price: every charge of a plan must be"
                        f" priced in the same currencies as charges[0] ({listed})",
                    )
                )
            for currency in sorted(extra):
                issues.append(
                    (
                        ("charges", i, "prices", currency),
                        f"{currency} is not priced on charges[0]: every"
                        f" charge of a plan must be priced in the same currencies ({listed})",
                    )
                )
        metrics = [
            (("charges", i, "metric"), c.metric)
            for i, c in enumerate(self.charges)
            if isinstance(c, PerUnitChargeConfig)
        ]
        issues += _duplicates(metrics, "per_unit charge on metric")
        if issues:
            raise rules_error(issues)
        return self

    @property
    def currencies(self) -> frozenset[str]:
        return frozenset(self.charges[0].prices)


class CatalogConfig(_Config):
    kind: Literal["catalog"] = "catalog"
    version: StrictInt = Field(ge=1)
    effective_on: date
    metrics: list[MetricConfig] = Field(default_factory=list)
    products: Annotated[list[ProductConfig], Field(min_length=1)]
    plans: Annotated[list[PlanConfig], Field(min_length=1)]

    @field_validator("metrics", "products", "plans")
    @classmethod
    def _unique_codes(
        cls,
        items: list[MetricConfig | ProductConfig | PlanConfig],
        info: ValidationInfo,
    ) -> Any:
        field = str(info.field_name)
        what = {"metrics": "metric code", "products": "product code", "plans": "plan code"}[field]
        codes: list[tuple[Loc, str]] = [((i, "code"), item.code) for i, item in enumerate(items)]
        issues = _duplicates(codes, what, (field,))
        if issues:
            raise rules_error(issues)
        return items

    @model_validator(mode="after")
    def _references(self) -> CatalogConfig:
        products = {p.code for p in self.products}
        metrics = {m.code for m in self.metrics}
        issues: list[Issue] = []
        for i, plan in enumerate(self.plans):
            if plan.product not in products:
                issues.append(
                    (
                        ("plans", i, "product"),
                        f"unknown product {plan.product!r} (declared: {_listing(products)})",
                    )
                )
            for j, charge in enumerate(plan.charges):
                if isinstance(charge, PerUnitChargeConfig) and charge.metric not in metrics:
                    issues.append(
                        (
                            ("plans", i, "charges", j, "metric"),
                            f"unknown metric {charge.metric!r} (declared: {_listing(metrics)})",
                        )
                    )
        if issues:
            raise rules_error(issues)
        return self

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


# --- dunning ------------------------------------------------------------------------------------


class DunningStepConfig(_Config):
    name: Code
    wait: Duration
    actions: Annotated[list[DunningAction], Field(min_length=1)]
    template: Literal["dunning_reminder", "dunning_suspended", "dunning_final_notice"] | None = None

    @property
    def wait_s(self) -> int:
        return parse_duration(self.wait)

    def to_core(self) -> DunningStep:
        from billing.dunning import DunningStep

        return DunningStep(
            name=self.name, wait_s=self.wait_s, actions=tuple(self.actions), template=self.template
        )

    @model_validator(mode="after")
    def _check_actions(self) -> DunningStepConfig:
        actions = ((("actions", i), str(a)) for i, a in enumerate(self.actions))
        issues = _duplicates(actions, "action")
        if self.template is None and any(a in NOTICE_ACTIONS for a in self.actions):
            issues.append(
                (("template",), "a step with email_notice or sms_notice needs a template")
            )
        if issues:
            raise rules_error(issues)
        return self


class DunningLadderConfig(_Config):
    kind: Literal["dunning_ladder"] = "dunning_ladder"
    code: Code
    version: StrictInt = Field(ge=1)
    steps: Annotated[list[DunningStepConfig], Field(min_length=1)]

    @model_validator(mode="after")
    def _steps(self) -> DunningLadderConfig:
        issues = _duplicates(
            ((("steps", i, "name"), s.name) for i, s in enumerate(self.steps)), "step name"
        )
        last = len(self.steps) - 1
        for i, step in enumerate(self.steps[:last]):
            for j, action in enumerate(step.actions):
                if action in LAST_STEP_ONLY:
                    issues.append(
                        (
                            ("steps", i, "actions", j),
                            f"{action} is only allowed in the last step",
                        )
                    )
        if issues:
            raise rules_error(issues)
        return self

    def to_core(self) -> DunningLadder:
        from billing.dunning import DunningLadder

        steps = tuple(step.to_core() for step in self.steps)
        return DunningLadder(code=self.code, version=self.version, steps=steps)


# --- legal entities -----------------------------------------------------------------------------


class LegalEntityConfig(_Config):
    kind: Literal["legal_entity"] = "legal_entity"
    version: StrictInt = Field(ge=1)
    code: Code
    name: Text
    country: Annotated[str, AfterValidator(_check_country)]
    currency: CurrencyCode
    timezone: Annotated[str, AfterValidator(_check_timezone)]
    invoice_prefix: Annotated[str, Field(pattern=r"^[A-Z0-9][A-Z0-9-]{0,11}$")]
    payment_terms_days: StrictInt = Field(ge=0, le=365)
    dunning_ladder: Code
    address: Annotated[list[Text], Field(min_length=1)]


# --- the snapshot -------------------------------------------------------------------------------


class ConfigSnapshot(_Config):
    """Everything validated under config/, with cross-file rules checked."""

    catalogs: list[CatalogConfig]
    ladders: list[DunningLadderConfig]
    entities: list[LegalEntityConfig]

    @model_validator(mode="after")
    def _cross_file(self, info: ValidationInfo) -> ConfigSnapshot:
        issues: list[Issue] = []
        issues += _duplicates(
            ((("catalogs", i, "version"), str(c.version)) for i, c in enumerate(self.catalogs)),
            "catalog version",
        )
        issues += _duplicates(
            (
                (("catalogs", i, "effective_on"), c.effective_on.isoformat())
                for i, c in enumerate(self.catalogs)
            ),
            "catalog effective_on",
        )
        issues += _duplicates(
            (
                (("ladders", i, "version"), f"{lad.code} v{lad.version}")
                for i, lad in enumerate(self.ladders)
            ),
            "dunning ladder",
        )
        issues += _duplicates(
            ((("entities", i, "code"), e.code) for i, e in enumerate(self.entities)), "entity code"
        )
        issues += _duplicates(
            (
                (("entities", i, "invoice_prefix"), e.invoice_prefix)
                for i, e in enumerate(self.entities)
            ),
            "invoice_prefix",
        )
        issues += self._catalog_order()
        ladders = {lad.code for lad in self.ladders}
        unchecked = set((info.context or {}).get("unvalidated_ladders", ()))
        for i, entity in enumerate(self.entities):
            if entity.dunning_ladder not in ladders | unchecked:
                issues.append(
                    (
                        ("entities", i, "dunning_ladder"),
                        f"unknown dunning ladder {entity.dunning_ladder!r}"
                        f" (declared: {_listing(ladders)})",
                    )
                )
        if issues:
            raise rules_error(issues)
        return self

    def _catalog_order(self) -> list[Issue]:
        indexed = sorted(enumerate(self.catalogs), key=lambda ic: ic[1].version)
        issues: list[Issue] = []
        for (_, before), (i, after) in itertools.pairwise(indexed):
            if before.version != after.version and after.effective_on <= before.effective_on:
                issues.append(
                    (
                        ("catalogs", i, "effective_on"),
                        f"catalog v{after.version} must be effective after v{before.version}"
                        f" ({before.effective_on.isoformat()})",
                    )
                )
        return issues

    def catalog_on(self, day: date) -> CatalogConfig:
        """The catalog in force on `day`: the latest effective_on <= day."""
        eligible = [c for c in self.catalogs if c.effective_on <= day]
        if not eligible:
            first = min((c.effective_on.isoformat() for c in self.catalogs), default="never")
            raise NoCatalogError(
                f"no catalog is effective on {day.isoformat()} (the first starts {first})"
            )
        return max(eligible, key=lambda c: c.effective_on)

    def plan(self, code: str, on: date) -> PlanConfig:
        return self.catalog_on(on).plan(code)

    def ladder(self, code: str, version: int | None = None) -> DunningLadderConfig:
        found = [lad for lad in self.ladders if lad.code == code and version in (None, lad.version)]
        if not found:
            wanted = code if version is None else f"{code} v{version}"
            known = _listing(f"{lad.code} v{lad.version}" for lad in self.ladders)
            raise UnknownLadderError(f"unknown dunning ladder {wanted!r} (declared: {known})")
        return max(found, key=lambda lad: lad.version)

    def entity(self, code: str) -> LegalEntityConfig:
        for entity in self.entities:
            if entity.code == code:
                return entity
        known = _listing(e.code for e in self.entities)
        raise UnknownEntityError(f"unknown legal entity {code!r} (declared: {known})")
