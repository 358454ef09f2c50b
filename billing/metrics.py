"""Billable metrics: what to aggregate from usage events, and a pure reference aggregation.

A `MetricSpec` says how the events of one metric over a half-open period `[start_at, end_at)`
become one quantity per (subscription, group value):

- ``sum``: the sum of the event quantities (or of the integer property ``field``);
- ``count``: the number of events;
- ``max``: the largest quantity (or ``field``);
- ``unique_count``: the number of distinct values of the property ``field``;
- ``latest``: the quantity (or ``field``) of the latest event; ties on ``occurred_at`` are broken
  by the greatest ``transaction_id``, so the result never depends on the order of ingestion;
- ``time_weighted_sum``: each event sets a level that holds until the next event or the period
  end; the level carried in from before the period counts from ``start_at``. The result is
  sum(level x seconds) / ``time_unit_s`` (e.g. GB levels with 3600 -> GB-hours), at 9 places.
  Instants count at whole-second resolution (floored), like the database query.

``filters`` keep only events whose property text is one of the allowed values; ``group_by``
splits the totals by the text of a property (a missing property gives the group ``None``).
Property values are compared as text: ``7`` and ``"7"`` are the same value, ``true`` is
``"true"``.

Totals are ``billing.invoice.UsageTotal`` values: one per (subscription, metric, group value).
`aggregate` is the reference used by the tests to check the SQL of ``models.usage_aggregate``.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal, get_args

from billing.invoice import UsageTotal
from billing.money import quantize_precise, require_decimal

Aggregation = Literal["sum", "count", "max", "unique_count", "latest", "time_weighted_sum"]
AGGREGATIONS: tuple[str, ...] = get_args(Aggregation)
PropertyValue = str | int | bool
Filters = tuple[tuple[str, tuple[str, ...]], ...]

_NEEDS_FIELD = ("unique_count",)
_NUMERIC_FIELD_OK = ("sum", "max", "latest", "time_weighted_sum")


@dataclass(frozen=True)
class MetricSpec:
    code: str
    aggregation: Aggregation = "sum"
    field: str | None = None  # property for unique_count, or an integer property to aggregate
    filters: Filters = ()
    group_by: str | None = None
    time_unit_s: int = 3600  # time_weighted_sum only: 3600 turns GB x seconds into GB-hours

    def __post_init__(self) -> None:
        problems = self.validate()
        if problems:
            raise ValueError(f"metric {self.code!r}: " + "; ".join(problems))

    def validate(self) -> list[str]:
        problems: list[str] = []
        if self.aggregation not in AGGREGATIONS:
            problems.append(
                f"unknown aggregation {self.aggregation!r}; use one of {', '.join(AGGREGATIONS)}"
            )
        if self.aggregation in _NEEDS_FIELD and not self.field:
            problems.append(f"{self.aggregation} needs `field`: the property whose values count")
        if self.field and self.aggregation not in (*_NEEDS_FIELD, *_NUMERIC_FIELD_OK):
            problems.append(f"`field` is not used by {self.aggregation}: remove it")
        if self.time_unit_s < 1:
            problems.append(f"time_unit_s must be >= 1 second, got {self.time_unit_s}")
        for prop, allowed in self.filters:
            if not allowed:
                problems.append(f"filter on {prop!r} allows no value: list at least one")
        return problems


@dataclass(frozen=True)
class MeteredEvent:
    """One stored usage event, as the aggregation sees it."""

    transaction_id: str
    subscription_id: str
    metric_code: str
    occurred_at: datetime
    quantity: Decimal
    properties: Mapping[str, PropertyValue]


def property_text(value: object) -> str | None:
    """The text a property compares and groups by (JSON booleans are 'true'/'false')."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def matches(spec: MetricSpec, event: MeteredEvent) -> bool:
    if event.metric_code != spec.code:
        return False
    return all(
        property_text(event.properties.get(prop)) in allowed for prop, allowed in spec.filters
    )


def aggregate(
    spec: MetricSpec, events: Iterable[MeteredEvent], start_at: datetime, end_at: datetime
) -> list[UsageTotal]:
    """Reference aggregation of `events` (any order) over [start_at, end_at), sorted by
    (subscription, group). Events before `start_at` matter only to time_weighted_sum."""
    series: dict[tuple[str, str | None], list[MeteredEvent]] = defaultdict(list)
    for event in events:
        if matches(spec, event) and event.occurred_at < end_at:
            group = property_text(event.properties.get(spec.group_by)) if spec.group_by else None
            series[(event.subscription_id, group)].append(event)
    totals: list[UsageTotal] = []
    for (subscription_id, group), items in sorted(series.items(), key=_series_order):
        quantity = _reduce(spec, items, start_at, end_at)
        if quantity is not None:
            totals.append(UsageTotal(subscription_id, spec.code, quantity, group))
    return totals


def _series_order(item: tuple[tuple[str, str | None], object]) -> tuple[str, str]:
    (subscription_id, group), _ = item
    return subscription_id, group or ""


def _value(spec: MetricSpec, event: MeteredEvent) -> Decimal:
    if spec.field is None or spec.aggregation == "unique_count":
        return require_decimal(event.quantity, "quantity")
    raw = event.properties.get(spec.field)
    if isinstance(raw, bool) or raw is None:
        return Decimal(0)
    return Decimal(int(raw))


def _reduce(
    spec: MetricSpec, events: list[MeteredEvent], start_at: datetime, end_at: datetime
) -> Decimal | None:
    if spec.aggregation == "time_weighted_sum":
        return _time_weighted(spec, events, start_at, end_at)
    inside = [e for e in events if e.occurred_at >= start_at]
    if not inside:
        return None
    if spec.aggregation == "count":
        return Decimal(len(inside))
    if spec.aggregation == "unique_count":
        texts = {property_text(e.properties.get(spec.field or "")) for e in inside}
        return Decimal(len(texts - {None}))
    if spec.aggregation == "max":
        return max(_value(spec, e) for e in inside)
    if spec.aggregation == "latest":
        last = max(inside, key=lambda e: (e.occurred_at, e.transaction_id))
        return _value(spec, last)
    return sum((_value(spec, e) for e in inside), Decimal(0))


def epoch_s(instant: datetime) -> int:
    """Whole seconds since the epoch, floored (instants must be timezone-aware)."""
    if instant.tzinfo is None:
        raise ValueError(f"naive instant {instant.isoformat()}: pass a timezone-aware datetime")
    return math.floor(instant.timestamp())


def _time_weighted(
    spec: MetricSpec, events: list[MeteredEvent], start_at: datetime, end_at: datetime
) -> Decimal | None:
    before = [e for e in events if e.occurred_at < start_at]
    inside = sorted(
        (e for e in events if e.occurred_at >= start_at),
        key=lambda e: (epoch_s(e.occurred_at), e.occurred_at, e.transaction_id),
    )
    start_s, end_s = epoch_s(start_at), epoch_s(end_at)
    steps: list[tuple[int, Decimal]] = []
    if before:
        carried = max(before, key=lambda e: (e.occurred_at, e.transaction_id))
        steps.append((start_s, _value(spec, carried)))
    steps += [(epoch_s(e.occurred_at), _value(spec, e)) for e in inside]
    if not steps:
        return None
    level_seconds = Decimal(0)
    for i, (at_s, level) in enumerate(steps):
        until_s = steps[i + 1][0] if i + 1 < len(steps) else end_s
        level_seconds += level * (until_s - at_s)
    return time_weighted_quantity(level_seconds, spec.time_unit_s)


def time_weighted_quantity(level_seconds: Decimal, time_unit_s: int) -> Decimal:
    """sum(level x seconds) in the metric's time unit, at 9 places (ROUND_HALF_UP)."""
    return quantize_precise(level_seconds / time_unit_s)
