"""Billable metrics declared in a catalog: what to aggregate from usage events, and how.

``aggregation`` is one of sum, count, max, unique_count, latest, time_weighted_sum (see
``billing.metrics``). ``field`` names the property counted by unique_count, or an integer
property aggregated instead of the event quantity; ``filters`` keep only events whose property
is one of the listed values; ``group_by`` splits the totals (and the invoice lines) by a
property; ``time_unit`` is the unit of time of a time_weighted_sum (hour: GB-hours).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StrictBool, StrictInt, field_validator, model_validator

from billing.metrics import MetricSpec
from models.config_types import Code, Issue, Text, _Config, rules_error

TIME_UNITS_S = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
PropertyName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$")]
FilterValue = str | StrictInt | StrictBool


class MetricConfig(_Config):
    code: Code
    name: Text
    aggregation: Literal["sum", "count", "max", "unique_count", "latest", "time_weighted_sum"]
    unit: Text
    field: PropertyName | None = None
    filters: dict[PropertyName, Annotated[list[FilterValue], Field(min_length=1)]] = Field(
        default_factory=dict
    )
    group_by: PropertyName | None = None
    time_unit: Literal["second", "minute", "hour", "day"] | None = None

    @field_validator("filters")
    @classmethod
    def _distinct_values(
        cls, filters: dict[str, list[FilterValue]]
    ) -> dict[str, list[FilterValue]]:
        issues: list[Issue] = []
        for prop, values in filters.items():
            texts = [_text(v) for v in values]
            for i, text in enumerate(texts):
                if text in texts[:i]:
                    issues.append(((prop, i), f"value {text!r} is listed twice"))
        if issues:
            raise rules_error(issues)
        return filters

    @model_validator(mode="after")
    def _fits_aggregation(self) -> MetricConfig:
        issues: list[Issue] = []
        kind = self.aggregation
        if kind == "unique_count" and self.field is None:
            issues.append((("field",), "unique_count needs `field`: the property to count"))
        if kind == "count" and self.field is not None:
            issues.append((("field",), "count counts events: remove `field`"))
        if kind == "time_weighted_sum" and self.time_unit is None:
            issues.append(
                (("time_unit",), "time_weighted_sum needs time_unit: second, minute, hour or day")
            )
        if kind != "time_weighted_sum" and self.time_unit is not None:
            message = f"time_unit is only used by time_weighted_sum (this is {kind}): remove it"
            issues.append((("time_unit",), message))
        if self.group_by is not None and len(self.filters.get(self.group_by, ())) == 1:
            message = "grouping by a property filtered to one value gives one group: remove one"
            issues.append((("group_by",), message))
        if issues:
            raise rules_error(issues)
        return self

    def to_spec(self) -> MetricSpec:
        filters = tuple(
            (prop, tuple(_text(v) for v in values)) for prop, values in sorted(self.filters.items())
        )
        return MetricSpec(
            code=self.code,
            aggregation=self.aggregation,
            field=self.field,
            filters=filters,
            group_by=self.group_by,
            time_unit_s=TIME_UNITS_S[self.time_unit or "hour"],
        )


def _text(value: FilterValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
