"""The columnar fast path of ingest agrees with the per-event path on every batch it accepts,
and accepts the common shape (so the agreement is not vacuous)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from models.usage_fast import FastBatch, fast_batch, fast_columns
from models.usage_values import content_hash, parse_event
from models.usage_windows import is_invoiced

SUBSCRIPTIONS = {"sub-a": "cust-a", "sub-b": "cust-b", "sub-c": "cust-c"}
WINDOW_KEYS = {"cust-a": ("UTC", 1), "cust-b": ("Europe/Paris", 15), "cust-c": ("UTC", 1)}
FROM_TEXT = {
    ("UTC", 1): "2026-11-01 00:00:00.000000",
    ("Europe/Paris", 15): "2026-11-14 23:00:00.000000",
}
UNTIL_TEXT = "2026-12-02 12:05:00.000000"
INVOICED = {"cust-c": (("2026-11-01 00:00:00.000000", "2026-11-21 00:00:00.000000"),)}
METRICS = frozenset({"api_calls", "storage_gb"})


def run_fast(events: list[object]) -> FastBatch | None:
    raw = fast_columns(events)
    if raw is None:
        return None
    return fast_batch(
        raw, METRICS, SUBSCRIPTIONS, WINDOW_KEYS, FROM_TEXT.__getitem__, UNTIL_TEXT, INVOICED
    )


def per_event(raw: object) -> tuple[tuple[object, ...], int, bool] | None:
    """What the per-event path stores for one event (journal row, hash, late), or None when it
    rejects it."""
    parsed = parse_event(raw)
    if isinstance(parsed, str):
        return None
    tx, sub, customer_id, metric, at, units, nanos, props = parsed
    if sub not in SUBSCRIPTIONS or customer_id is not None or metric not in METRICS:
        return None
    customer = SUBSCRIPTIONS[sub]
    if at < FROM_TEXT[WINDOW_KEYS[customer]] or at > UNTIL_TEXT:
        return None
    row = (tx, customer, sub, metric, at, units, nanos, props)
    late = customer in INVOICED and is_invoiced(at, INVOICED[customer])
    return row, content_hash(sub, metric, at, units, nanos, props), late


ODD_STAMPS = [
    "2026-11-20t10:00:00Z", "2026-11-20 10:00:00.5Z", "2026-11-20T10:00:00+00:00",
    "2026-11-20T11:00:00+01:00", "2026-02-30T10:00:00Z", "2026-10-01T10:00:00Z",
    "2030-01-01T00:00:00Z", "2026-11-20T10:00:00.123456789Z", 1_795_000_000, "",
]  # fmt: skip
ODD_QUANTITIES = [
    None, -1, 10**15, "12.", ".5", "1.50", "1.0000000001", "1234567890123456", "-1", "1e3",
    "\uff11\uff12", " 1", 1.5, True, 2**70,
]  # fmt: skip
ODD_PROPERTIES = [
    {"a": 1.5}, {"a": None}, {"a": [1]}, {"": "x"}, {"a": 2**64}, {"a": "x" * 1025}, [1], "x",
]  # fmt: skip
valid_quantities = st.one_of(
    st.integers(min_value=0, max_value=10**15 - 1),
    st.integers(min_value=0, max_value=10**15 - 1).map(str),
    st.decimals(min_value=0, max_value=10**9, places=9, allow_nan=False).map(str),
)
valid_properties = st.dictionaries(
    st.sampled_from(["region", "status", "b", "a"]),
    st.one_of(st.text(max_size=5), st.integers(min_value=-(2**63), max_value=2**63 - 1),
              st.booleans()),
    max_size=3,
)  # fmt: skip


def odd(draw: st.DrawFn, valid: st.SearchStrategy[object], odd_values: list[object]) -> object:
    """Mostly a valid value, sometimes one of the edge cases."""
    return draw(st.sampled_from(odd_values)) if draw(st.integers(0, 40)) == 0 else draw(valid)


@st.composite
def events(draw: st.DrawFn, index: int, seconds_digits: bool, quantity_kind: int) -> object:
    stamp = f"2026-11-{draw(st.integers(5, 30)):02d}T10:00:00{'.250000' if seconds_digits else ''}Z"
    event: dict[str, object] = {
        "transaction_id": odd(draw, st.just(f"tx-{index}"), ["", 7, "tx-0", "x" * 256]),
        "subscription_id": odd(draw, st.sampled_from(sorted(SUBSCRIPTIONS)), ["sub-x", 3]),
        "metric": odd(draw, st.sampled_from(sorted(METRICS)), ["nope", ["x"]]),
        "timestamp": odd(draw, st.just(stamp), ODD_STAMPS),
    }
    if quantity_kind:
        kinds = [st.integers(0, 10**15 - 1), valid_quantities][quantity_kind - 1]
        event["quantity"] = odd(draw, kinds, ODD_QUANTITIES)
    if draw(st.booleans()):
        event["properties"] = odd(draw, valid_properties, ODD_PROPERTIES)
    if draw(st.integers(0, 60)) == 0:
        event[draw(st.sampled_from(["customer_id", "extra"]))] = "cust-a"
    return event if draw(st.integers(0, 200)) else "not an object"


@st.composite
def batches(draw: st.DrawFn) -> list[object]:
    size = draw(st.integers(min_value=1, max_value=8))
    digits, kind = draw(st.booleans()), draw(st.integers(0, 2))
    return [draw(events(index, digits, kind)) for index in range(size)]


@settings(max_examples=400, deadline=None)
@given(batches())
def test_the_fast_path_stores_what_the_per_event_path_stores(batch: list[object]) -> None:
    fast = run_fast(batch)
    if fast is None:
        return
    expected = [per_event(raw) for raw in batch]
    assert None not in expected, "the fast path accepted an event the per-event path rejects"
    rows = list(zip(*fast.columns, strict=True))
    assert rows == [e[0] for e in expected if e is not None]
    assert fast.hashes == [e[1] for e in expected if e is not None]
    assert fast.late == [e[2] for e in expected if e is not None]


def plain(tx: str, sub: str = "sub-a", **fields: object) -> dict[str, object]:
    return {"transaction_id": tx, "subscription_id": sub, "metric": "api_calls",
            "timestamp": "2026-11-20T10:00:00.250000Z", **fields}  # fmt: skip


def test_the_common_shape_takes_the_fast_path_with_exact_values() -> None:
    batch: list[object] = [
        plain("t1", quantity="12.5", properties={"region": "eu", "status": 200, "ok": True}),
        plain("t2", "sub-c", quantity="3"),
        plain("t3", "sub-b", quantity="0.000000001"),
    ]
    fast = run_fast(batch)
    assert fast is not None
    txs, customers, _, _, instants, units, nanos, props = fast.columns
    assert (txs, customers) == (["t1", "t2", "t3"], ["cust-a", "cust-c", "cust-b"])
    assert instants == ["2026-11-20 10:00:00.250000"] * 3
    assert (units, nanos) == ([12, 3, 0], [500_000_000, 0, 1])
    assert props == ['{"ok":true,"region":"eu","status":200}', "{}", "{}"]
    assert fast.late == [False, True, False]  # sub-c: November 1-20 is invoiced


def test_integer_and_missing_quantities_take_the_fast_path() -> None:
    ints = run_fast([plain("t1", quantity=5), plain("t2", quantity=0)])
    missing = run_fast([plain("t1"), plain("t2")])
    assert ints is not None and (ints.columns[5], ints.columns[6]) == ([5, 0], [0, 0])
    assert missing is not None and missing.columns[5] == [1, 1]


def test_anything_unusual_goes_event_by_event() -> None:
    unusual: list[list[object]] = [
        [plain("t1"), plain("t1")],  # a repeated transaction id
        [plain("t1"), plain("t2", "sub-x")],  # an unknown subscription
        [plain("t1", quantity="12.")],  # a decimal the per-event parser decides
        [plain("t1", quantity=1.5)],  # a JSON number with decimals
        [plain("t1", timestamp="2026-11-20T10:00:00+00:00")],  # an offset other than Z
        [plain("t1", timestamp="2026-11-20T10:00:00Z"), plain("t2")],  # two timestamp lengths
        [plain("t1", timestamp="2026-10-20T10:00:00Z")],  # before the accepted window
        [plain("t1", properties={"nested": {"a": 1}})],
        [{**plain("t1"), "customer_id": "cust-a"}],
        [],
    ]
    for batch in unusual:
        assert run_fast(batch) is None, batch
