"""The columnar fast path of ingest validation.

A batch whose events all have the common shape (JSON objects naming a known subscription and a
declared metric, a `...Z` timestamp of one length, plain integer or decimal-string quantities,
flat properties of strings, integers and booleans, distinct transaction ids) is validated one
column at a time with C-level builtins (`map`, `set`, `min`, `max`, `orjson`, `xxhash`) instead
of a Python loop per event. It produces exactly what the per-event path (`parse_event` and
`usage_ingest._candidates`) produces for the same events, a property test checks this.

Anything else returns None, and the batch goes event by event through the per-event path,
which also words the errors: the fast path never rejects an event.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from itertools import chain, repeat
from operator import itemgetter, le, methodcaller, rshift
from typing import Any, cast

import orjson
from xxhash import xxh3_64_intdigest

from models.usage_store import EventColumns
from models.usage_values import (
    MAX_ID_CHARS,
    MAX_PROPERTIES,
    MAX_PROPERTY_NAME_CHARS,
    MAX_PROPERTY_TEXT_CHARS,
    MAX_QUANTITY_UNITS,
)
from models.usage_windows import is_invoiced

_REQUIRED = frozenset({"transaction_id", "subscription_id", "metric", "timestamp"})
_ALLOWED = _REQUIRED | {"quantity", "properties"}
_STR = {str}
_INT64 = 2**63
_TX = itemgetter("transaction_id")
_SUB = itemgetter("subscription_id")
_METRIC = itemgetter("metric")
_TIMESTAMP = itemgetter("timestamp")
_QUANTITY = methodcaller("get", "quantity")
_PROPERTIES = methodcaller("get", "properties")
_SORTED_JSON = partial(orjson.dumps, option=orjson.OPT_SORT_KEYS)
_SEPARATORS = frozenset("T t")
_PARTITION = methodcaller("partition", ".")


@dataclass(frozen=True, slots=True)
class FastColumns:
    """The fields of a batch of common-shape events, one list per field."""

    transaction_ids: list[str]
    subscription_ids: list[str]
    metrics: list[Any]
    timestamps: list[Any]
    quantities: list[Any]
    properties: list[Any]


@dataclass(frozen=True, slots=True)
class FastBatch:
    """A validated batch: its journal columns, content hashes and late flags, by position."""

    columns: EventColumns
    hashes: list[int]
    late: list[bool]


def fast_columns(events: Sequence[object]) -> FastColumns | None:
    """The columns of a batch of JSON objects with only the fields of the common shape, the
    required ones present, string ids and distinct transaction ids; else None."""
    if not events or set(map(type, events)) != {dict}:
        return None
    batch: list[dict[str, Any]] = list(events)  # type: ignore[arg-type]
    names = set().union(*batch)
    if not (_REQUIRED <= names <= _ALLOWED):
        return None
    try:
        columns = FastColumns(
            list(map(_TX, batch)),
            list(map(_SUB, batch)),
            list(map(_METRIC, batch)),
            list(map(_TIMESTAMP, batch)),
            list(map(_QUANTITY, batch)),
            list(map(_PROPERTIES, batch)),
        )
    except KeyError:
        return None
    transaction_ids = columns.transaction_ids
    if (
        not _texts(transaction_ids, MAX_ID_CHARS)
        or set(map(type, columns.subscription_ids)) != _STR
        or len(set(transaction_ids)) != len(transaction_ids)
    ):
        return None
    return columns


def fast_batch(
    raw: FastColumns,
    metric_codes: frozenset[str],
    customer_of: dict[str, str],
    window_key_of: dict[str, tuple[str, int]],
    from_text_of: Callable[[tuple[str, int]], str],
    until_text: str,
    invoiced_of: dict[str, tuple[tuple[str, str], ...]],
) -> FastBatch | None:
    """The batch validated column by column, or None when some event needs the per-event path
    (a bad or unusual value, an unknown subscription or metric, a timestamp outside the
    window). `window_key_of` gives each customer's (time zone, bill-cycle day),
    `from_text_of` the start of the accepted window of such a key, `invoiced_of` the invoiced
    usage periods of the customers that have some. A known subscription id and a declared
    metric code are valid strings by construction: their lengths are not checked again."""
    subs, metrics = raw.subscription_ids, raw.metrics
    try:
        if not set(metrics) <= metric_codes:
            return None
    except TypeError:  # an unhashable value: not a code
        return None
    found = list(map(customer_of.get, subs))
    if None in found:
        return None
    customers = cast(list[str], found)
    instants = _instants(raw.timestamps)
    quantities = _quantities(raw.quantities)
    properties = _properties(raw.properties)
    if instants is None or quantities is None or properties is None:
        return None
    units, nanos = quantities
    late = _in_window(customers, instants, window_key_of, from_text_of, until_text, invoiced_of)
    if late is None:
        return None
    contents = zip(subs, metrics, instants, units, nanos, properties, strict=True)
    digests = map(xxh3_64_intdigest, map(orjson.dumps, contents))
    hashes = list(map(rshift, digests, repeat(1)))
    txs = raw.transaction_ids
    columns: EventColumns = (txs, customers, subs, metrics, instants, units, nanos, properties)
    return FastBatch(columns, hashes, late)


def _texts(values: list[Any], max_chars: int) -> bool:
    """Every value a string of 1 to `max_chars` characters."""
    if set(map(type, values)) != _STR:
        return False
    lengths = set(map(len, values))
    return min(lengths) > 0 and max(lengths) <= max_chars


def _instants(stamps: list[Any]) -> list[str] | None:
    """Canonical UTC text of `YYYY-MM-DDTHH:MM:SS[.ffffff]Z` stamps all of one length."""
    if set(map(type, stamps)) != _STR:
        return None
    lengths = set(map(len, stamps))
    if lengths not in ({27}, {20}) or set(map(itemgetter(-1), stamps)) != {"Z"}:
        return None
    if not set(map(itemgetter(10), stamps)) <= _SEPARATORS:
        return None
    try:
        list(map(datetime.fromisoformat, stamps))  # the digits form a valid date and time
    except ValueError:
        return None
    if lengths == {27}:
        if set(map(itemgetter(19), stamps)) != {"."}:
            return None
        return [f"{s[:10]} {s[11:26]}" for s in stamps]
    return [f"{s[:10]} {s[11:19]}.000000" for s in stamps]


def _quantities(values: list[Any]) -> tuple[list[int], list[int]] | None:
    """(units, nanos) of quantities that are all missing, all ints or all plain decimals."""
    kinds = set(map(type, values))
    count = len(values)
    if kinds == {type(None)}:
        return [1] * count, [0] * count
    if kinds == {int}:
        if min(values) < 0 or max(values) >= MAX_QUANTITY_UNITS:
            return None
        return values, [0] * count
    if kinds != _STR or not all(map(str.isascii, values)):
        return None
    wholes, dots, fractions = zip(*map(_PARTITION, values), strict=True)
    if (
        not all(map(str.isdigit, wholes))
        or max(map(len, wholes)) > 15
        or dots.count(".") != count - fractions.count("")  # "12." has a dot and no decimals
    ):
        return None
    units = list(map(int, wholes))
    if dots.count(".") == 0:
        return units, [0] * count
    if max(map(len, fractions)) > 9 or not all(map(str.isdigit, filter(None, fractions))):
        return None
    return units, [int(fraction.ljust(9, "0")) if fraction else 0 for fraction in fractions]


def _properties(values: list[Any]) -> list[str] | None:
    """Canonical JSON of flat objects of strings, 64-bit integers and booleans."""
    kinds = set(map(type, values))
    if not kinds <= {dict, type(None)}:
        return None
    objects = [value for value in values if value]
    if objects:
        if max(map(len, objects)) > MAX_PROPERTIES or not _texts(
            list(chain.from_iterable(objects)), MAX_PROPERTY_NAME_CHARS
        ):
            return None
        items = list(chain.from_iterable(map(dict.values, objects)))
        if not set(map(type, items)) <= {str, int, bool}:
            return None
        texts = [item for item in items if type(item) is str]
        if texts and max(map(len, texts)) > MAX_PROPERTY_TEXT_CHARS:
            return None
        numbers = [item for item in items if type(item) is int]
        if numbers and (min(numbers) < -_INT64 or max(numbers) >= _INT64):
            return None
    dumps = _SORTED_JSON
    return [dumps(value).decode() if value else "{}" for value in values]


def _in_window(
    customers: list[str],
    instants: list[str],
    window_key_of: dict[str, tuple[str, int]],
    from_text_of: Callable[[tuple[str, int]], str],
    until_text: str,
    invoiced_of: dict[str, tuple[tuple[str, str], ...]],
) -> list[bool] | None:
    """Late flags when every instant is inside its account's accepted window, else None."""
    if max(instants) > until_text:
        return None
    keys = {window_key_of[customer] for customer in set(customers)}
    from_text = {key: from_text_of(key) for key in keys}
    if min(instants) < max(from_text.values()):  # else every instant is in every window
        per_event = map(from_text.__getitem__, map(window_key_of.__getitem__, customers))
        if not all(map(le, per_event, instants)):
            return None
    if invoiced_of.keys().isdisjoint(customers):
        return [False] * len(customers)
    return [
        customer in invoiced_of and is_invoiced(at, invoiced_of[customer])
        for customer, at in zip(customers, instants, strict=True)
    ]
