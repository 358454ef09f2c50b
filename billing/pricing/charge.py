"""A charge of a plan: a code (for coupons), a description, a price model and, for usage
models, the metric it prices."""

from __future__ import annotations

from dataclasses import dataclass

from billing.pricing._checks import collect, raise_if_invalid, text_problem
from billing.pricing.package import Package
from billing.pricing.per_unit import PerUnit
from billing.pricing.percentage import Percentage
from billing.pricing.recurring import RecurringFee
from billing.pricing.tiered import Graduated, Volume

UsageModel = PerUnit | Graduated | Volume | Package
ChargeModel = PerUnit | Graduated | Volume | Package | Percentage | RecurringFee
USAGE_MODELS = (PerUnit, Graduated, Volume, Package, Percentage)


@dataclass(frozen=True)
class Charge:
    code: str
    description: str
    model: ChargeModel
    metric_code: str | None = None  # required for usage and percentage models

    def __post_init__(self) -> None:
        raise_if_invalid(f"charge {self.code!r}", self.validate())

    def validate(self) -> list[str]:
        problems = collect(
            text_problem(self.code, "code"), text_problem(self.description, "description")
        )
        if isinstance(self.model, RecurringFee):
            if self.metric_code is not None:
                problems.append("a recurring fee has no metric_code: drop it")
        elif isinstance(self.model, USAGE_MODELS):
            problems.extend(collect(text_problem(self.metric_code, "metric_code")))
        else:
            problems.append(
                f"model must be PerUnit, Graduated, Volume, Package, Percentage or RecurringFee, "
                f"got {type(self.model).__name__}"
            )
        return problems
