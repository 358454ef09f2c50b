"""One usage event, validated field by field with plain code (fast enough for the bulk path).

`parse_event` turns a wire event (a JSON object, a CSV row made into a dict, or values built in
Python) into a `ParsedEvent`, or returns the reason it is invalid as a string. Quantities are
exact: a `Decimal` >= 0 with at most 9 decimals, kept as integer units and nanos.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

import orjson
from xxhash import xxh3_64_intdigest

FIELDS = (
    "transaction_id",
    "subscription_id",
    "customer_id",
    "metric",
    "timestamp",
    "quantity",
    "properties",
)
_FIELD_SET = frozenset(FIELDS)
MAX_ID_CHARS = 255
MAX_EXTERNAL_ID_CHARS = 64
MAX_PROPERTIES = 64
MAX_PROPERTY_NAME_CHARS = 64
MAX_PROPERTY_TEXT_CHARS = 1024
MAX_QUANTITY_UNITS = 10**15  # exclusive: 15 integer digits, so SQL sums stay within int64
NANOS_PER_UNIT = 10**9
MAX_FLOAT_DIGITS = 15  # a JSON number with up to 15 significant digits is read back exactly
EPOCH_MIN_S = 946_684_800  # 2000-01-01T00:00:00Z
EPOCH_MAX_S = 4_102_444_800  # 2100-01-01T00:00:00Z
_INT64 = 2**63
_EMPTY_PROPERTIES = "{}"
_ONE = (1, 0)
_DATE_TIME_SEPARATORS = ("T", " ", "t")


# (transaction_id, subscription_id, customer_id, metric_code, occurred_at: canonical UTC text
#  that sorts like the instants, quantity_units, quantity_nanos, properties: canonical JSON)
ParsedEvent = tuple[str, str | None, str | None, str, str, int, int, str]


def parse_event(raw: object) -> ParsedEvent | str:
    """The validated event, or why it is invalid (one sentence naming the field).

    Whether the metric is declared is checked by the caller, after the subscription (an
    unknown subscription is the first thing to report). The common shape (string ids, a
    `...Z` timestamp, an integer or plain
    decimal quantity, flat properties) takes a fast path; anything else goes through the field
    parsers below, which also word the errors."""
    if type(raw) is not dict:
        if not isinstance(raw, Mapping):
            return f"an event must be a JSON object with the fields {', '.join(FIELDS)}"
        raw = dict(raw)
    if not raw.keys() <= _FIELD_SET:
        unknown = sorted(str(k) for k in raw.keys() - _FIELD_SET)
        return f"unknown field(s) {', '.join(unknown)} (allowed: {', '.join(FIELDS)})"
    get = raw.get
    tx, sub, metric = get("transaction_id"), get("subscription_id"), get("metric")
    if (
        type(tx) is str
        and type(sub) is str
        and type(metric) is str
        and 0 < len(tx) <= MAX_ID_CHARS
        and 0 < len(sub) <= MAX_EXTERNAL_ID_CHARS
        and 0 < len(metric) <= MAX_EXTERNAL_ID_CHARS
        and "customer_id" not in raw
    ):
        at = _fast_instant(get("timestamp"))
        quantity = get("quantity")
        units_nanos = _ONE if quantity is None else _fast_quantity(quantity)
        props = get("properties")
        props_json = _EMPTY_PROPERTIES if props is None else _fast_properties(props)
        if at is not None and units_nanos is not None and props_json is not None:
            return (tx, sub, None, metric, at, units_nanos[0], units_nanos[1], props_json)
    try:
        return _parse(raw)
    except EventError as exc:
        return str(exc)


def _fast_instant(value: object) -> str | None:
    """Canonical text of `YYYY-MM-DDTHH:MM:SS[.ffffff]Z`, else None (the slow path decides)."""
    if type(value) is not str or value[-1:] != "Z" or value[10:11] not in _DATE_TIME_SEPARATORS:
        return None
    size = len(value)
    if size != 20 and size != 27:
        return None
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return None
    if size == 20:
        return f"{value[:10]} {value[11:19]}.000000"
    return f"{value[:10]} {value[11:26]}" if value[19] == "." else None


def _fast_quantity(value: object) -> tuple[int, int] | None:
    if value is None:
        return _ONE
    kind = type(value)
    if kind is int:
        units: int = value  # type: ignore[assignment]
        return (units, 0) if 0 <= units < MAX_QUANTITY_UNITS else None
    if kind is not str:
        return None
    text: str = value  # type: ignore[assignment]
    whole, dot, fraction = text.partition(".")
    if not (whole.isdigit() and whole.isascii() and len(whole) <= 15):
        return None
    if not dot:
        return int(whole), 0
    if 0 < len(fraction) <= 9 and fraction.isdigit() and fraction.isascii():
        return int(whole), int(fraction.ljust(9, "0"))
    return None


def _fast_properties(value: object) -> str | None:
    if value is None:
        return _EMPTY_PROPERTIES
    if type(value) is not dict or len(value) > MAX_PROPERTIES:
        return None
    for name, item in value.items():
        if type(name) is not str or not 0 < len(name) <= MAX_PROPERTY_NAME_CHARS:
            return None
        kind = type(item)
        if kind is str:
            if len(item) > MAX_PROPERTY_TEXT_CHARS:
                return None
        elif kind is int:
            if not -_INT64 <= item < _INT64:
                return None
        elif kind is not bool:
            return None
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode() if value else "{}"


class EventError(ValueError):
    """A field of one event is invalid; the message names it and says how to fix it."""


def _parse(raw: Mapping[str, object]) -> ParsedEvent:
    transaction_id = _text(raw.get("transaction_id"), "transaction_id", MAX_ID_CHARS)
    subscription_id = _optional_id(raw.get("subscription_id"), "subscription_id")
    customer_id = _optional_id(raw.get("customer_id"), "customer_id")
    if subscription_id is None and customer_id is None:
        raise EventError("subscription_id or customer_id is required")
    metric = _text(raw.get("metric"), "metric", MAX_EXTERNAL_ID_CHARS)
    units, nanos = parse_quantity(raw.get("quantity"))
    occurred_at = utc_text(parse_timestamp(raw.get("timestamp")))
    props = properties_json(raw.get("properties"))
    return (transaction_id, subscription_id, customer_id, metric, occurred_at, units, nanos, props)


def _text(value: object, field: str, max_chars: int) -> str:
    if type(value) is not str:
        if value is None:
            raise EventError(f"{field} is required")
        raise EventError(f"{field} must be a string, got {_kind(value)}")
    if not 0 < len(value) <= max_chars:
        raise EventError(f"{field} must have 1 to {max_chars} characters, got {len(value)}")
    return value


def _optional_id(value: object, field: str) -> str | None:
    if value is None or value == "":
        return None
    return _text(value, field, MAX_EXTERNAL_ID_CHARS)


def unknown_metric(metric: str, metric_codes: Collection[str]) -> str:
    declared = ", ".join(sorted(metric_codes)) or "none (no catalog is loaded)"
    return f"unknown metric {metric!r} (declared metrics: {declared})"


def _kind(value: object) -> str:
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string"}.get(
        type(value), "a list" if isinstance(value, list) else type(value).__name__
    )


# --- quantity ------------------------------------------------------------------------------------


def parse_quantity(value: object) -> tuple[int, int]:
    """(units, nanos) of a quantity: missing means 1; a decimal string, an int or a number."""
    kind = type(value)
    if value is None:
        return _ONE
    if kind is int:
        return _check_units(value), 0  # type: ignore[arg-type]
    if kind is str:
        text: str = value  # type: ignore[assignment]
        if text.isascii() and text.isdigit() and len(text) <= 15:
            return int(text), 0
        return split_quantity(_decimal_of_text(text))
    if kind is float:
        return split_quantity(Decimal(_exact_float_text(value, "quantity")))  # type: ignore[arg-type]
    if isinstance(value, Decimal):
        return split_quantity(value)
    raise EventError(
        f'quantity must be a decimal string or a number (e.g. "12.5"), got {_kind(value)}'
    )


def _decimal_of_text(text: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation:
        raise EventError(f'quantity {text[:40]!r} is not a decimal number (e.g. "12.5")') from None


def _check_units(units: int) -> int:
    if units < 0:
        raise EventError(f"quantity must be >= 0, got {units}")
    if units >= MAX_QUANTITY_UNITS:
        raise EventError(f"quantity must be below 10^15, got {units}")
    return units


def split_quantity(quantity: Decimal) -> tuple[int, int]:
    """Exact (units, nanos) of a quantity >= 0 with at most 9 decimals."""
    if not quantity.is_finite():
        raise EventError(f"quantity must be a finite decimal number, got {quantity}")
    if quantity < 0:
        raise EventError(f"quantity must be >= 0, got {quantity}")
    exponent = quantity.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -9:
        raise EventError(f"quantity has more than 9 decimal places: {quantity}")
    units = int(quantity)
    _check_units(units)
    return units, int((quantity - units).scaleb(9))


def join_quantity(units: int, nanos: int) -> Decimal:
    """The exact Decimal of stored (units, nanos), also of SQL sums of both columns."""
    return Decimal(units) + Decimal(nanos).scaleb(-9)


def _exact_float_text(value: float, field: str) -> str:
    """The decimal text of a JSON number, refused when a double cannot hold it exactly."""
    if not math.isfinite(value):
        raise EventError(f"{field} must be a finite number, got {value}")
    text = repr(value)
    mantissa = text.split("e")[0].replace("-", "").replace(".", "").strip("0")
    if len(mantissa) > MAX_FLOAT_DIGITS:
        raise EventError(
            f"{field} {text} has more than {MAX_FLOAT_DIGITS} significant digits as a JSON "
            f'number and may have lost precision: send it as a string (e.g. "{text}")'
        )
    return text


# --- timestamp -----------------------------------------------------------------------------------


def parse_timestamp(value: object) -> datetime:
    """A UTC instant from ISO 8601 with an offset, epoch seconds, or an aware datetime."""
    kind = type(value)
    if kind is str:
        return _instant_of_text(value)  # type: ignore[arg-type]
    if kind is int or kind is float:
        return _instant_of_epoch(value)  # type: ignore[arg-type]
    if isinstance(value, datetime):
        return _utc(value, value.isoformat())
    if value is None:
        raise EventError("timestamp is required (ISO 8601 with offset, e.g. 2026-12-01T10:00:00Z)")
    raise EventError(
        f"timestamp must be an ISO 8601 string with offset or epoch seconds, got {_kind(value)}"
    )


def _instant_of_text(text: str) -> datetime:
    try:
        instant = datetime.fromisoformat(text)
    except ValueError:
        if text.replace(".", "", 1).isdigit() and text.isascii():
            return _instant_of_epoch(float(text))
        raise EventError(
            f"timestamp {text[:40]!r} is not an ISO 8601 instant (e.g. 2026-12-01T10:00:00Z)"
        ) from None
    return _utc(instant, text)


def _utc(instant: datetime, text: str) -> datetime:
    offset = instant.utcoffset()
    if offset is None:
        raise EventError(
            f"timestamp {text[:40]!r} has no UTC offset: add one (e.g. 2026-12-01T10:00:00Z)"
        )
    if instant.tzinfo is UTC:
        return instant
    return instant.astimezone(UTC)


def _instant_of_epoch(seconds: float) -> datetime:
    if isinstance(seconds, float) and not math.isfinite(seconds):
        raise EventError(f"timestamp must be finite epoch seconds, got {seconds}")
    if not EPOCH_MIN_S <= seconds < EPOCH_MAX_S:
        raise EventError(
            f"timestamp {seconds} as epoch seconds is not between 2000 and 2100 "
            "(send seconds, not milliseconds)"
        )
    return datetime.fromtimestamp(seconds, UTC)


def utc_text(instant: datetime) -> str:
    """The canonical text of a UTC instant, as SQLAlchemy stores it on SQLite."""
    return instant.replace(tzinfo=None).isoformat(" ", "microseconds")


# --- properties ----------------------------------------------------------------------------------


def properties_json(value: object) -> str:
    """Canonical JSON (sorted keys) of a flat object of str / int / decimal / bool values."""
    if value is None:
        return _EMPTY_PROPERTIES
    if not isinstance(value, Mapping):
        raise EventError(f"properties must be a JSON object, got {_kind(value)}")
    if not value:
        return _EMPTY_PROPERTIES
    if len(value) > MAX_PROPERTIES:
        raise EventError(f"properties has {len(value)} entries; at most {MAX_PROPERTIES}")
    clean: dict[str, object] = {}
    for name, item in value.items():
        clean[_property_name(name)] = _property_value(name, item)
    return orjson.dumps(clean, option=orjson.OPT_SORT_KEYS).decode()


def _property_name(name: object) -> str:
    if type(name) is not str or not 0 < len(name) <= MAX_PROPERTY_NAME_CHARS:
        raise EventError(
            f"property names must be strings of 1 to {MAX_PROPERTY_NAME_CHARS} characters,"
            f" got {str(name)[:80]!r}"
        )
    return name


def _property_value(name: str, item: object) -> object:
    kind = type(item)
    if kind is str:
        if len(item) > MAX_PROPERTY_TEXT_CHARS:  # type: ignore[arg-type]
            raise EventError(
                f"property {name!r} is longer than {MAX_PROPERTY_TEXT_CHARS} characters"
            )
        return item
    if kind is bool:
        return item
    if kind is int:
        if not -_INT64 <= item < _INT64:  # type: ignore[operator]
            raise EventError(f"property {name!r} is outside the 64-bit integer range")
        return item
    if kind is float:
        _exact_float_text(item, f"property {name!r}")  # type: ignore[arg-type]
        return item
    if isinstance(item, Decimal):
        return _float_of_decimal(name, item)
    raise EventError(
        f"property {name!r} must be a string, integer, decimal number or boolean, got {_kind(item)}"
    )


def _float_of_decimal(name: str, item: Decimal) -> float | int:
    if item == item.to_integral_value() and abs(item) < _INT64:
        return int(item)
    as_float = float(item)
    if Decimal(_exact_float_text(as_float, f"property {name!r}")) != item:
        raise EventError(f"property {name!r} = {item} cannot be stored exactly: send a string")
    return as_float


# --- identity of an event's content --------------------------------------------------------------


def content_hash(
    subscription_id: str,
    metric_code: str,
    occurred_at: str,
    quantity_units: int,
    quantity_nanos: int,
    properties_json: str,
) -> int:
    """A 63-bit digest of what an event says: same id + same hash means duplicate.
    `occurred_at` is the canonical UTC text, `properties_json` the canonical JSON. XXH3-64 of
    the JSON array of the six values, shifted to fit a signed 64-bit column; the columnar fast
    path (`usage_fast`) computes the same digest over the same array."""
    content = (
        subscription_id,
        metric_code,
        occurred_at,
        quantity_units,
        quantity_nanos,
        properties_json,
    )
    return int(xxh3_64_intdigest(orjson.dumps(content)) >> 1)
