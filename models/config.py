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
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import (
    AfterValidator,
    Field,
    StrictInt,
    ValidationInfo,
    model_validator,
)

from billing.dunning import DunningAction
from models.config_catalog import (
    CatalogConfig,
    CouponConfig,
    PhaseConfig,
    PlanConfig,
    ProductConfig,
    UnknownCatalogVersionError,
    UnknownCouponError,
)
from models.config_charges import (
    ChargeConfig,
    FlatChargeConfig,
    GraduatedChargeConfig,
    InstallmentsChargeConfig,
    OneTimeChargeConfig,
    PackageChargeConfig,
    PercentageChargeConfig,
    PerUnitChargeConfig,
    RatedChargeConfig,
    TierConfig,
    VolumeChargeConfig,
)
from models.config_metrics import MetricConfig
from models.config_rating import RateTableConfig
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

__all__ = [  # what other modules import from here (the catalog lives in config_catalog/_charges)
    "AMOUNT_NOT_STRING",
    "CONFIG_RULES",
    "Amount",
    "CatalogConfig",
    "ChargeConfig",
    "Code",
    "ConfigSnapshot",
    "CouponConfig",
    "CurrencyCode",
    "DunningLadderConfig",
    "DunningStepConfig",
    "FlatChargeConfig",
    "GraduatedChargeConfig",
    "InstallmentsChargeConfig",
    "LegalEntityConfig",
    "MetricConfig",
    "NoCatalogError",
    "OneTimeChargeConfig",
    "PackageChargeConfig",
    "PerUnitChargeConfig",
    "PercentageChargeConfig",
    "PhaseConfig",
    "PlanConfig",
    "Prices",
    "ProductConfig",
    "RatedChargeConfig",
    "TierConfig",
    "UnknownCatalogVersionError",
    "UnknownConfigError",
    "UnknownCouponError",
    "UnknownEntityError",
    "UnknownLadderError",
    "UnknownPlanError",
    "VolumeChargeConfig",
    "parse_duration",
]


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


def _rated_metrics(table: RateTableConfig) -> set[str]:
    return {code for code in table.metrics.model_dump().values() if code}


# --- the snapshot -------------------------------------------------------------------------------


class ConfigSnapshot(_Config):
    """Everything validated under config/, with cross-file rules checked."""

    catalogs: list[CatalogConfig]
    ladders: list[DunningLadderConfig]
    entities: list[LegalEntityConfig]
    rate_tables: list[RateTableConfig] = Field(default_factory=list)

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
        issues += self._rated_charge_tables()
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

    def _rated_charge_tables(self) -> list[Issue]:
        """A rated charge names a declared rate table priced in a currency its plan sells in."""
        tables = {t.code: t for t in getattr(self, "rate_tables", None) or ()}
        issues: list[Issue] = []
        for i, catalog in enumerate(self.catalogs):
            for j, plan in enumerate(catalog.plans):
                for k, charge in enumerate(plan.charges):
                    if not isinstance(charge, RatedChargeConfig):
                        continue
                    loc: Loc = ("catalogs", i, "plans", j, "charges", k, "rate_table")
                    table = tables.get(charge.rate_table)
                    if table is None:
                        known = _listing(tables)
                        issues.append(
                            (loc, f"unknown rate table {charge.rate_table!r} (declared: {known})")
                        )
                    elif charge.metric not in _rated_metrics(table):
                        issues.append(
                            (loc, f"rate table {table.code!r} rates the metrics"
                             f" {_listing(_rated_metrics(table))}, not {charge.metric!r}")
                        )  # fmt: skip
                    elif table.currency not in plan.currencies:
                        issues.append(
                            (loc, f"rate table {table.code!r} prices in {table.currency}, which"
                             f" plan {plan.code!r} does not sell in ({_listing(plan.currencies)})")
                        )  # fmt: skip
        return issues

    def catalog(self, version: int) -> CatalogConfig:
        """The catalog `version` (a subscription keeps the version it was sold on)."""
        for catalog in self.catalogs:
            if catalog.version == version:
                return catalog
        known = _listing(str(c.version) for c in self.catalogs)
        raise UnknownCatalogVersionError(f"unknown catalog version {version} (loaded: {known})")

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

    def rate_table(self, code: str, version: int | None = None) -> RateTableConfig:
        """The rate table `code` (its highest version unless `version` is given)."""
        found = [t for t in self.rate_tables if t.code == code and version in (None, t.version)]
        if not found:
            wanted = code if version is None else f"{code} v{version}"
            known = _listing(f"{t.code} v{t.version}" for t in self.rate_tables)
            raise UnknownConfigError(f"unknown rate table {wanted!r} (declared: {known})")
        return max(found, key=lambda t: t.version)

    def entity(self, code: str) -> LegalEntityConfig:
        for entity in self.entities:
            if entity.code == code:
                return entity
        known = _listing(e.code for e in self.entities)
        raise UnknownEntityError(f"unknown legal entity {code!r} (declared: {known})")
