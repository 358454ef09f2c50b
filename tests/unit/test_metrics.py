"""Metric specs and the pure reference aggregation: each aggregation exact on small cases,
filters, grouping, latest ties, unique counts, time-weighted sums with a carried-in level."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from billing.invoice import UsageTotal
from billing.metrics import MeteredEvent, MetricSpec, aggregate
from models.config_metrics import MetricConfig

START = datetime(2026, 11, 1, tzinfo=UTC)
END = datetime(2026, 12, 1, tzinfo=UTC)
D = Decimal


def ev(
    tx: str, at: datetime, qty: str = "1", sub: str = "s1", metric: str = "m", **props: object
) -> MeteredEvent:
    return MeteredEvent(tx, sub, metric, at, D(qty), props)  # type: ignore[arg-type]


def h(hours: float) -> datetime:
    return START + timedelta(hours=hours)


EVENTS = [
    ev("a", h(1), "2.5", region="eu", user="u1"),
    ev("b", h(2), "1.000000001", region="us", user="u2"),
    ev("c", h(3), "7", region="eu", user="u1"),
    ev("d", h(4), "0", region="eu", user=7),
    ev("e", h(-1), "100", region="eu", user="u9"),  # before the period
    ev("f", END, "100", region="eu", user="u9"),  # at the (excluded) period end
    ev("g", h(5), "3", metric="other", region="eu"),
    ev("h", h(5), "4", sub="s2", region="ap", user="7"),
]


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (MetricSpec("m"), [("s1", None, "10.500000001"), ("s2", None, "4")]),
        (MetricSpec("m", "count"), [("s1", None, "4"), ("s2", None, "1")]),
        (MetricSpec("m", "max"), [("s1", None, "7"), ("s2", None, "4")]),
        (MetricSpec("m", "unique_count", field="user"), [("s1", None, "3"), ("s2", None, "1")]),
        (MetricSpec("m", "latest"), [("s1", None, "0"), ("s2", None, "4")]),
        (
            MetricSpec("m", group_by="region"),
            [("s1", "eu", "9.5"), ("s1", "us", "1.000000001"), ("s2", "ap", "4")],
        ),
        (
            MetricSpec("m", "count", filters=(("region", ("eu",)),)),
            [("s1", None, "3")],
        ),
        (
            MetricSpec("m", "sum", filters=(("user", ("7", "u2")),)),
            [("s1", None, "1.000000001"), ("s2", None, "4")],
        ),
    ],
)
def test_each_aggregation_is_exact(spec: MetricSpec, expected: list[tuple]) -> None:
    totals = aggregate(spec, EVENTS, START, END)
    assert totals == [UsageTotal(s, "m", D(q), g) for s, g, q in expected]


def test_latest_ties_are_broken_by_the_greatest_transaction_id_in_any_order() -> None:
    events = [ev("tx-2", h(1), "5"), ev("tx-9", h(1), "3"), ev("tx-1", h(1), "8")]
    for order in (events, events[::-1]):
        assert aggregate(MetricSpec("m", "latest"), order, START, END)[0].quantity == D(3)


def test_numeric_property_field_is_aggregated_instead_of_the_quantity() -> None:
    events = [ev("a", h(1), "1", bytes=1500), ev("b", h(2), "1", bytes=500), ev("c", h(3))]
    assert aggregate(MetricSpec("m", "sum", field="bytes"), events, START, END)[0].quantity == 2000
    assert aggregate(MetricSpec("m", "max", field="bytes"), events, START, END)[0].quantity == 1500


def test_time_weighted_sum_carries_the_level_in_and_holds_it_to_the_period_end() -> None:
    # 10 GB from before the period, 30 GB from hour 12, 0 GB from hour 24, 5 GB from day 29.
    events = [
        ev("old", h(-48), "99"),
        ev("in", h(-5), "10"),
        ev("up", h(12), "30"),
        ev("off", h(24), "0"),
        ev("last", h(29 * 24), "5"),
    ]
    spec = MetricSpec("m", "time_weighted_sum", time_unit_s=3600)
    # 10 x 12 h + 30 x 12 h + 0 + 5 x 24 h = 600 GB-hours
    assert aggregate(spec, events, START, END) == [UsageTotal("s1", "m", D(600))]


def test_time_weighted_sum_without_carry_in_starts_at_the_first_event() -> None:
    events = [ev("a", h(720 - 1.5), "2")]  # 2 GB for the last 90 minutes of the month
    spec = MetricSpec("m", "time_weighted_sum", time_unit_s=3600)
    assert aggregate(spec, events, START, END)[0].quantity == D(3)


def test_time_weighted_sum_keeps_nine_places() -> None:
    events = [ev("a", END - timedelta(seconds=1), "1")]
    spec = MetricSpec("m", "time_weighted_sum", time_unit_s=3600)
    assert aggregate(spec, events, START, END)[0].quantity == D("0.000277778")


def test_a_level_set_before_the_period_alone_counts_for_the_whole_period() -> None:
    spec = MetricSpec("m", "time_weighted_sum", time_unit_s=86400)
    assert aggregate(spec, [ev("a", h(-1), "2")], START, END)[0].quantity == D(60)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"aggregation": "unique_count"}, "unique_count needs `field`"),
        ({"aggregation": "count", "field": "x"}, "`field` is not used by count"),
        ({"aggregation": "median"}, "unknown aggregation 'median'"),
        ({"time_unit_s": 0}, "time_unit_s must be >= 1"),
        ({"filters": (("region", ()),)}, "allows no value"),
    ],
)
def test_invalid_specs_are_refused_with_the_reason(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        MetricSpec("m", **kwargs)


def test_metric_config_builds_the_spec() -> None:
    config = MetricConfig(
        code="storage",
        name="Storage",
        aggregation="time_weighted_sum",
        unit="GB-hour",
        filters={"tier": ["hot", 2]},
        group_by="region",
        time_unit="hour",
    )
    assert config.to_spec() == MetricSpec(
        "storage", "time_weighted_sum", None, (("tier", ("hot", "2")),), "region", 3600
    )
    legacy = MetricConfig(code="api_calls", name="API calls", aggregation="sum", unit="call")
    assert legacy.to_spec() == MetricSpec("api_calls")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"aggregation": "unique_count"}, "field: unique_count needs `field`"),
        ({"aggregation": "time_weighted_sum"}, "time_unit: time_weighted_sum needs time_unit"),
        ({"aggregation": "sum", "time_unit": "hour"}, "time_unit is only used by"),
        ({"aggregation": "count", "field": "user"}, "count counts events"),
        ({"aggregation": "sum", "filters": {"r": ["eu", "eu"]}}, "r[1]: value 'eu' is listed"),
        ({"aggregation": "sum", "filters": {"r": []}}, "at least 1 item"),
        ({"aggregation": "sum", "field": "bad name"}, "should match pattern"),
    ],
)
def test_invalid_metric_configs_name_the_field(fields: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(message)):
        MetricConfig(code="m", name="M", unit="u", **fields)


@given(
    st.lists(
        st.tuples(
            st.integers(0, 50), st.integers(-100, 800), st.sampled_from(["eu", "us"]), st.booleans()
        ),
        max_size=30,
    )
)
def test_grouped_totals_add_up_to_the_ungrouped_total(rows: list) -> None:
    events = [
        ev(f"t{i}", h(hour), str(qty), sub="s2" if other else "s1", region=region)
        for i, (qty, hour, region, other) in enumerate(rows)
    ]
    for kind in ("sum", "count"):
        whole = {
            t.subscription_id: t.quantity
            for t in aggregate(MetricSpec("m", kind), events, START, END)
        }
        grouped: dict[str, Decimal] = {}
        for t in aggregate(MetricSpec("m", kind, group_by="region"), events, START, END):
            grouped[t.subscription_id] = grouped.get(t.subscription_id, D(0)) + t.quantity
        assert grouped == whole
