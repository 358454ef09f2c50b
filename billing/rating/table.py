"""A telco rate table: bands, destinations (by number prefix) with voice and SMS prices, and
a data price. Amounts are Decimal (9 places at most); each table has one currency."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from billing.money import PRECISE_PLACES, require_decimal
from billing.rating.bands import Band, coverage_issues

Service = Literal["voice", "data", "sms"]
SERVICES: tuple[Service, ...] = ("voice", "data", "sms")
BandPrices = Mapping[str, Decimal]  # band code -> price

_PREFIX_RE = re.compile(r"^[0-9]{1,15}$")
_INCREMENTS_RE = re.compile(r"^([1-9][0-9]{0,4})/([1-9][0-9]{0,4})$")


@dataclass(frozen=True)
class Increments:
    """Charging increments 'first/next' in seconds: '60/60' bills whole minutes, '30/6' a
    first 30 s then 6 s steps, '1/1' per second. A started increment is billed whole."""

    first_s: int
    next_s: int

    @classmethod
    def parse(cls, text: str) -> Increments:
        match = _INCREMENTS_RE.match(text)
        if match is None:
            raise ValueError(
                f"increments {text!r} must be 'first/next' in whole seconds >= 1 (e.g. '60/60',"
                " '30/6', '1/1')"
            )
        return cls(int(match.group(1)), int(match.group(2)))

    def __str__(self) -> str:
        return f"{self.first_s}/{self.next_s}"

    def billed_s(self, seconds: int) -> int:
        if seconds <= 0:
            return 0
        if seconds <= self.first_s:
            return self.first_s
        return self.first_s + -(-(seconds - self.first_s) // self.next_s) * self.next_s


@dataclass(frozen=True)
class VoiceRate:
    per_minute: BandPrices
    increments: Increments
    setup_fee: Decimal = Decimal(0)  # per connected call (duration > 0)


@dataclass(frozen=True)
class Destination:
    prefix: str  # E.164 digits without '+', e.g. '336' (France mobile)
    name: str
    voice: VoiceRate | None = None
    sms: BandPrices | None = None  # per message


@dataclass(frozen=True)
class DataRate:
    per_mb: BandPrices  # per MB of 1,000,000 bytes
    increment_bytes: int = 1_000  # a started increment is billed whole


@dataclass(frozen=True)
class RateTable:
    code: str
    version: int
    currency: str
    timezone: str
    bands: tuple[Band, ...]
    destinations: tuple[Destination, ...]
    data: DataRate | None = None
    metrics: Mapping[Service, str] = field(default_factory=dict)  # service -> usage metric code
    destination_property: str = "destination"

    def __post_init__(self) -> None:
        problems = self.validate()
        if problems:
            raise ValueError(f"rate table {self.code!r}: " + "; ".join(problems))

    def validate(self) -> list[str]:
        problems = [message for _, message in coverage_issues(self.bands)]
        codes = [band.code for band in self.bands]
        if len(set(codes)) != len(codes):
            problems.append(f"band codes must be unique, got {codes}")
        seen: set[str] = set()
        for dest in self.destinations:
            if not _PREFIX_RE.match(dest.prefix):
                problems.append(f"prefix {dest.prefix!r} must be 1 to 15 digits")
            if dest.prefix in seen:
                problems.append(f"prefix {dest.prefix!r} is listed twice")
            seen.add(dest.prefix)
            problems += _price_problems(f"destination {dest.prefix} voice", dest.voice, codes)
            problems += _band_price_problems(f"destination {dest.prefix} sms", dest.sms, codes)
        if self.data is not None:
            problems += _band_price_problems("data", self.data.per_mb, codes)
            if self.data.increment_bytes < 1:
                problems.append("data increment_bytes must be >= 1")
        return problems


def _price_problems(what: str, voice: VoiceRate | None, codes: list[str]) -> list[str]:
    if voice is None:
        return []
    problems = _band_price_problems(what, voice.per_minute, codes)
    problems += _amount_problems(f"{what} setup_fee", voice.setup_fee)
    if voice.increments.first_s < 1 or voice.increments.next_s < 1:
        problems.append(f"{what} increments must be >= 1 second")
    return problems


def _band_price_problems(what: str, prices: BandPrices | None, codes: list[str]) -> list[str]:
    if prices is None:
        return []
    problems = [
        f"{what}: no price for band {code!r} (price every band)"
        for code in codes
        if code not in prices
    ]
    problems += [f"{what}: unknown band {code!r}" for code in prices if code not in codes]
    for code, amount in prices.items():
        problems += _amount_problems(f"{what} {code}", amount)
    return problems


def _amount_problems(what: str, amount: Decimal) -> list[str]:
    value = require_decimal(amount, what)
    if value < 0:
        return [f"{what} must be >= 0, got {value}"]
    if -int(value.as_tuple().exponent) > PRECISE_PLACES:
        return [f"{what} has more than {PRECISE_PLACES} decimal places: {value}"]
    return []
