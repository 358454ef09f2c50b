"""Set-based usage aggregation: one SQL query per metric for many subscriptions at once.

Each `billing.metrics.MetricSpec` becomes one grouped query over ``usage_events`` for the
half-open period ``[start_at, end_at)``: sum, count and unique_count are plain GROUP BYs; max
and latest pick one row per (subscription, group) with ROW_NUMBER(); time_weighted_sum pairs
each level with the next one with LEAD() (the level carried in from before the period counts
from ``start_at``; the last level holds until ``end_at``). Filters and grouping read JSON
properties through SQLAlchemy's JSON accessors (JSON_EXTRACT on SQLite, ->> on PostgreSQL),
compared as text. Quantities are summed exactly as integer units and nanos.

The results are ``billing.invoice.UsageTotal`` values, one per (subscription, metric, group),
only for the (subscription, group) pairs that have events (absent means zero usage).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from datetime import datetime
from decimal import Context, Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Select,
    String,
    bindparam,
    cast,
    distinct,
    func,
    literal,
    select,
    union_all,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import FunctionElement

from billing.invoice import UsageTotal
from billing.metrics import MetricSpec, epoch_s, time_weighted_quantity
from models.tables import UsageEventRow
from models.usage_settle import settle_pending

SUBSCRIPTION_CHUNK = 5_000  # subscription ids per query (bind-parameter limits)
_EXACT = Context(prec=60)  # enough digits for any 64-bit units + nanos sum

usage = UsageEventRow.__table__


class EpochSeconds(FunctionElement[int]):
    """Whole seconds since the epoch of a stored UTC instant, floored, on either backend."""

    type = BigInteger()
    inherit_cache = True
    name = "epoch_seconds"


@compiles(EpochSeconds, "sqlite")
def _epoch_sqlite(element: EpochSeconds, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(strftime('%s', {compiler.process(element.clauses, **kw)}) AS INTEGER)"


@compiles(EpochSeconds, "postgresql")
def _epoch_postgresql(element: EpochSeconds, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(FLOOR(EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)})) AS BIGINT)"


class Scanned(ColumnElement[Any]):
    """A column whose condition must not drive an index: on SQLite `+column` (the documented
    way to disqualify a WHERE term from index use), elsewhere the column itself. Used when a
    query aggregates every subscription of a period: one sequential scan beats millions of
    index-then-row look-ups there (PostgreSQL prunes to the month partition and plans alone)."""

    inherit_cache = True

    def __init__(self, column: ColumnElement[Any]) -> None:
        self.column = column
        self.type = column.type


@compiles(Scanned)
def _scanned_default(element: Scanned, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.column, **kw)


@compiles(Scanned, "sqlite")
def _scanned_sqlite(element: Scanned, compiler: SQLCompiler, **kw: Any) -> str:
    return f"+{compiler.process(element.column, **kw)}"


def _col(column: ColumnElement[Any], scan: bool) -> ColumnElement[Any]:
    return Scanned(column) if scan else column


def property_text(name: str) -> ColumnElement[str]:
    """The text of a JSON property of the event (NULL when absent)."""
    text: ColumnElement[str] = usage.c.properties[name].as_string()  # CAST(JSON_EXTRACT) / ->>
    return text


def _group(spec: MetricSpec) -> ColumnElement[Any]:
    expr = property_text(spec.group_by) if spec.group_by else literal(None, String)
    return expr.label("grp")


def _amount(spec: MetricSpec) -> tuple[ColumnElement[Any], ColumnElement[Any]]:
    """(integer units, nanos) of the value aggregated: the quantity, or an integer property."""
    if spec.field is None or spec.aggregation == "unique_count":
        return usage.c.quantity_units, usage.c.quantity_nanos
    value = func.coalesce(cast(usage.c.properties[spec.field].as_string(), BigInteger), 0)
    return value, literal(0, BigInteger)


def index_only(spec: MetricSpec) -> bool:
    """Whether the period index (which covers the quantity) answers the metric alone: sums,
    counts and maxima of the quantity with no property filter or grouping."""
    plain = spec.field is None and not spec.filters and spec.group_by is None
    return plain and spec.aggregation in ("sum", "count", "max")


def _where(spec: MetricSpec, by_subscription: bool, scan: bool) -> list[ColumnElement[bool]]:
    metric = _col(usage.c.metric_code, scan)
    conditions: list[ColumnElement[bool]] = [metric == spec.code]
    if by_subscription:
        conditions.append(usage.c.subscription_id.in_(bindparam("subs", expanding=True)))
    for prop, allowed in spec.filters:
        conditions.append(property_text(prop).in_(allowed))
    return conditions


def _in_period(start_at: datetime, end_at: datetime, scan: bool) -> list[ColumnElement[bool]]:
    occurred_at = _col(usage.c.occurred_at, scan)
    return [occurred_at >= start_at, occurred_at < end_at]


def metric_query(
    spec: MetricSpec, start_at: datetime, end_at: datetime, by_subscription: bool
) -> Select[Any]:
    """The query for one metric: rows (subscription_id, grp, units, nanos)."""
    # every subscription of a period: one sequential scan of the rows, unless the covering
    # index answers alone; a list of subscriptions: the index
    scan = not by_subscription and not index_only(spec)
    where = _where(spec, by_subscription, scan)
    kind = spec.aggregation
    if kind == "time_weighted_sum":
        return _time_weighted_query(spec, where, start_at, end_at, scan)
    where += _in_period(start_at, end_at, scan)
    sub, grp = usage.c.subscription_id, _group(spec)
    # group/partition keys; without a grouping property the subscription alone, so that the
    # index order serves the GROUP BY (no sort)
    by = (_col(sub, scan), grp) if spec.group_by else (_col(sub, scan),)
    units, nanos = _amount(spec)
    if kind == "sum":
        return select(sub, grp, func.sum(units), func.sum(nanos)).where(*where).group_by(*by)
    if kind == "count":
        return select(sub, grp, func.count(), literal(0)).where(*where).group_by(*by)
    if kind == "unique_count":
        counted = func.count(distinct(property_text(spec.field or "")))
        return select(sub, grp, counted, literal(0)).where(*where).group_by(*by)
    if kind == "max":
        order = [units.desc(), nanos.desc()]
    else:  # latest: ties on occurred_at broken by the greatest transaction id
        order = [usage.c.occurred_at.desc(), usage.c.transaction_id.desc()]
    rank = func.row_number().over(partition_by=list(by), order_by=order)
    ranked = select(sub, grp, units.label("units"), nanos.label("nanos"), rank.label("rn")).where(
        *where
    )
    r = ranked.subquery("ranked")
    return select(r.c.subscription_id, r.c.grp, r.c.units, r.c.nanos).where(r.c.rn == 1)


def _time_weighted_query(
    spec: MetricSpec,
    where: list[ColumnElement[bool]],
    start_at: datetime,
    end_at: datetime,
    scan: bool,
) -> Select[Any]:
    sub, grp = usage.c.subscription_id, _group(spec)
    by = (_col(sub, scan), grp)
    units, nanos = _amount(spec)
    start_s, end_s = epoch_s(start_at), epoch_s(end_at)
    before = func.row_number().over(
        partition_by=list(by),
        order_by=[usage.c.occurred_at.desc(), usage.c.transaction_id.desc()],
    )
    carried = (
        select(sub, grp, units.label("units"), nanos.label("nanos"), before.label("rn"),
               usage.c.occurred_at, usage.c.transaction_id)
        .where(*where, _col(usage.c.occurred_at, scan) < start_at)
        .subquery("carried")
    )  # fmt: skip
    carry_in = select(
        carried.c.subscription_id, carried.c.grp, carried.c.units, carried.c.nanos,
        literal(start_s, BigInteger).label("t"), literal(0).label("seq"),
        carried.c.occurred_at, carried.c.transaction_id,
    ).where(carried.c.rn == 1)  # fmt: skip
    inside = select(
        sub, grp, units.label("units"), nanos.label("nanos"),
        EpochSeconds(usage.c.occurred_at).label("t"), literal(1).label("seq"),
        usage.c.occurred_at, usage.c.transaction_id,
    ).where(*where, *_in_period(start_at, end_at, scan))  # fmt: skip
    series = union_all(carry_in, inside).subquery("series")
    s = series.c
    following = func.lead(s.t).over(
        partition_by=[s.subscription_id, s.grp],
        order_by=[s.t, s.seq, s.occurred_at, s.transaction_id],
    )
    spans = select(
        s.subscription_id, s.grp, s.units, s.nanos,
        (func.coalesce(following, end_s) - s.t).label("seconds"),
    ).subquery("spans")  # fmt: skip
    p = spans.c
    return select(
        p.subscription_id, p.grp, func.sum(p.units * p.seconds), func.sum(p.nanos * p.seconds)
    ).group_by(p.subscription_id, p.grp)


def aggregate_metric(
    session: Session,
    spec: MetricSpec,
    start_at: datetime,
    end_at: datetime,
    subscription_ids: Collection[str] | None = None,
    per_transaction: bool = False,
) -> list[UsageTotal]:
    """Totals of one metric over [start_at, end_at) for the given subscriptions (None: all).
    `per_transaction` (sum metrics, e.g. for a percentage fee per payment) also fills each
    total's `transactions` (every event's value, in time order) and `count`."""
    if per_transaction:
        return _with_transactions(session, spec, start_at, end_at, subscription_ids)
    query = metric_query(spec, start_at, end_at, by_subscription=subscription_ids is not None)
    totals: list[UsageTotal] = []
    weighted = spec.aggregation == "time_weighted_sum"
    for params in subscription_chunks(subscription_ids):
        for sub, group, units, nanos in session.execute(query, params).all():
            quantity = exact_quantity(int(units or 0), int(nanos or 0))
            if weighted:
                quantity = time_weighted_quantity(quantity, spec.time_unit_s)
            totals.append(UsageTotal(sub, spec.code, quantity, group))
    totals.sort(key=lambda t: (t.subscription_id, t.group or ""))
    return totals


def _with_transactions(
    session: Session,
    spec: MetricSpec,
    start_at: datetime,
    end_at: datetime,
    subscription_ids: Collection[str] | None,
) -> list[UsageTotal]:
    if spec.aggregation != "sum":
        raise ValueError(f"metric {spec.code!r}: per-transaction values need a sum metric")
    by_sub = subscription_ids is not None
    units, nanos = _amount(spec)
    sub, grp = usage.c.subscription_id, _group(spec)
    query = (
        select(sub, grp, units, nanos)
        .where(*_where(spec, by_sub, not by_sub), *_in_period(start_at, end_at, scan=not by_sub))
        .order_by(sub, usage.c.occurred_at, usage.c.transaction_id)
    )
    values: dict[tuple[str, str | None], list[Decimal]] = {}
    for params in subscription_chunks(subscription_ids):
        for s, g, u, n in session.execute(query, params):
            values.setdefault((s, g), []).append(exact_quantity(int(u or 0), int(n or 0)))
    totals = [
        UsageTotal(s, spec.code, sum(v, Decimal(0)), g, transactions=tuple(v), count=len(v))
        for (s, g), v in values.items()
    ]
    totals.sort(key=lambda t: (t.subscription_id, t.group or ""))
    return totals


def exact_quantity(units: int, nanos: int) -> Decimal:
    """units + nanos / 10^9 exactly (nanos may be a sum larger than 10^9)."""
    if not nanos:
        return Decimal(units)
    return Decimal(units * 1_000_000_000 + nanos).scaleb(-9, _EXACT)


def subscription_chunks(subscription_ids: Collection[str] | None) -> Iterator[dict[str, Any]]:
    """Bind parameters `subs` in chunks of ids (one empty dict for every subscription)."""
    if subscription_ids is None:
        yield {}
        return
    ordered = sorted(set(subscription_ids))
    for i in range(0, len(ordered), SUBSCRIPTION_CHUNK):
        yield {"subs": ordered[i : i + SUBSCRIPTION_CHUNK]}


def aggregate_usage(
    session: Session,
    specs: Sequence[MetricSpec],
    start_at: datetime,
    end_at: datetime,
    subscription_ids: Collection[str] | None = None,
) -> list[UsageTotal]:
    """Totals of every metric in `specs`, one query per metric (and per id chunk), after
    settling journaled events (`aggregate_metric` reads usage_events as it is)."""
    settle_pending(session.connection())
    totals: list[UsageTotal] = []
    for spec in specs:
        totals += aggregate_metric(session, spec, start_at, end_at, subscription_ids)
    return totals


def current_usage(
    session: Session,
    subscription_id: str,
    metrics: Sequence[MetricSpec],
    period_start_at: datetime,
    now: datetime,
) -> list[UsageTotal]:
    """Usage to date of the open period [period_start_at, now), per metric and group; a
    time-weighted level counts up to `now`."""
    return aggregate_usage(session, metrics, period_start_at, now, [subscription_id])


__all__ = [
    "aggregate_metric",
    "aggregate_usage",
    "current_usage",
    "metric_query",
    "subscription_chunks",
]
