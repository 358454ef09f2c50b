"""Rate one usage event against a compiled rate table, fast.

`Rater(table)` precomputes a dict of prefixes (probed longest first), per-band prices in
nano-units (1e-9 of the currency unit) and a per-minute band clock; `rate()` then works in
integers and returns a `RatedEvent` whose amounts are exact to 9 places (ROUND_HALF_UP).
Zero-value events (a 0-second call, 0 bytes, a free number) are classified and rated to 0.
"""

from __future__ import annotations

from decimal import Decimal
from typing import NamedTuple

from billing.rating.bands import BandClock
from billing.rating.table import BandPrices, Destination, RateTable, Service

NANOS = 1_000_000_000
_MATCH_MEMO_LIMIT = 1_000_000  # memoised number keys per rater
BYTES_PER_MB = 1_000_000


class RatingError(ValueError):
    """An event the table cannot rate (no destination matches, no price for the service)."""


class RatedEvent(NamedTuple):
    """One rated event (a NamedTuple: immutable and cheap to build a million times)."""

    service: str
    prefix: str  # the matched destination prefix ('' for data)
    destination_name: str
    band: str
    quantity: int  # seconds, bytes or messages, fractions rounded up
    billed_quantity: int  # after charging increments
    increments: str  # '60/60' for voice, '<bytes>' for data, '1' for sms
    unit_price_nanos: int  # per minute, per MB or per message
    setup_fee_nanos: int
    amount_nanos: int

    @property
    def amount(self) -> Decimal:
        return nanos_to_decimal(self.amount_nanos)

    @property
    def unit_price(self) -> Decimal:
        return nanos_to_decimal(self.unit_price_nanos)


def to_nanos(amount: Decimal) -> int:
    return int(amount.scaleb(9))


def nanos_to_decimal(nanos: int) -> Decimal:
    return Decimal(nanos).scaleb(-9)


def _half_up(numerator: int, denominator: int) -> int:
    return (2 * numerator + denominator) // (2 * denominator)


def ceil_units(units: int, nanos: int) -> int:
    """A quantity given as (integer part, nanos) rounded up to a whole number."""
    return units + (1 if nanos > 0 else 0)


VoiceTerms = tuple[int, int, int, tuple[int, ...], str]  # first, next, setup, prices, label
_Entry = tuple[Destination, VoiceTerms | None, tuple[int, ...] | None]


class Rater:
    def __init__(self, table: RateTable) -> None:
        self.table = table
        self._clock = BandClock(table.bands, table.timezone)
        self._memo = self._clock.memo
        self._bands = self._clock.codes
        self._by_prefix: dict[str, _Entry] = {
            d.prefix: (d, self._voice_terms(d), self._per_band(d.sms) if d.sms else None)
            for d in table.destinations
        }
        self._lengths = sorted({len(p) for p in self._by_prefix}, reverse=True)
        self._key_len = self._lengths[0] if self._lengths else 0
        self._matched: dict[str, _Entry] = {}
        data = table.data
        self._data = (
            (self._per_band(data.per_mb), data.increment_bytes, str(data.increment_bytes))
            if data
            else None
        )
        self._service_of_metric = {metric: svc for svc, metric in table.metrics.items()}

    def _per_band(self, prices: BandPrices) -> tuple[int, ...]:
        return tuple(to_nanos(prices[code]) for code in self._bands)

    def _voice_terms(self, dest: Destination) -> VoiceTerms | None:
        if dest.voice is None:
            return None
        inc = dest.voice.increments
        prices = self._per_band(dest.voice.per_minute)
        return inc.first_s, inc.next_s, to_nanos(dest.voice.setup_fee), prices, str(inc)

    def service_of(self, metric_code: str) -> Service | None:
        return self._service_of_metric.get(metric_code)

    def match(self, number: str) -> Destination:
        """The destination with the longest prefix of `number` (E.164, '+' optional)."""
        return self._entry(number)[0]

    def _entry(self, number: str) -> _Entry:
        """The longest match only depends on the first `max length` digits: memoised on them."""
        key = number[1 : self._key_len + 1] if number[:1] == "+" else number[: self._key_len]
        found = self._matched.get(key)
        if found is None:
            found = self._probe(key, number)
            if len(self._matched) < _MATCH_MEMO_LIMIT:
                self._matched[key] = found
        return found

    def _probe(self, key: str, number: str) -> _Entry:
        for length in self._lengths:
            found = self._by_prefix.get(key[:length])
            if found is not None:
                return found
        raise RatingError(f"no destination prefix matches {number!r}: add a prefix to the table")

    def band_of(self, at_s: int) -> str:
        return self._bands[self._clock.band_index(at_s)]

    def rate(self, service: str, destination: str, at_s: int, quantity: int) -> RatedEvent:
        """Rate one event: `at_s` epoch seconds of its start, `quantity` whole seconds (voice),
        bytes (data) or messages (sms)."""
        band_index = self._memo.get(at_s // 60)
        if band_index is None:
            band_index = self._clock.band_index(at_s)
        if service == "voice":
            return self._rate_voice(destination, band_index, quantity)
        if service == "data":
            return self._rate_data(band_index, quantity)
        if service == "sms":
            return self._rate_sms(destination, band_index, quantity)
        raise RatingError(f"unknown service {service!r}: use voice, data or sms")

    def _rate_voice(self, destination: str, band_index: int, seconds: int) -> RatedEvent:
        dest, terms, _ = self._entry(destination)
        if terms is None:
            raise RatingError(f"destination {dest.prefix} ({dest.name}) has no voice price")
        first_s, next_s, setup, prices, label = terms
        price = prices[band_index]
        if seconds <= 0:
            billed, setup = 0, 0
        elif seconds <= first_s:
            billed = first_s
        else:
            billed = first_s + -(-(seconds - first_s) // next_s) * next_s
        amount = setup + (billed * price * 2 + 60) // 120  # billed x price / 60, HALF_UP
        band = self._bands[band_index]
        return RatedEvent(
            "voice", dest.prefix, dest.name, band, seconds, billed, label, price, setup, amount
        )

    def _rate_sms(self, destination: str, band_index: int, messages: int) -> RatedEvent:
        dest, _, prices = self._entry(destination)
        if prices is None:
            raise RatingError(f"destination {dest.prefix} ({dest.name}) has no sms price")
        price = prices[band_index]
        band = self._bands[band_index]
        amount = messages * price
        return RatedEvent(
            "sms", dest.prefix, dest.name, band, messages, messages, "1", price, 0, amount
        )

    def _rate_data(self, band_index: int, nbytes: int) -> RatedEvent:
        if self._data is None:
            raise RatingError(f"rate table {self.table.code!r} has no data price")
        prices, increment, label = self._data
        price = prices[band_index]
        billed = -(-nbytes // increment) * increment if nbytes > 0 else 0
        amount = _half_up(billed * price, BYTES_PER_MB)
        band = self._bands[band_index]
        return RatedEvent("data", "", "data", band, nbytes, billed, label, price, 0, amount)
