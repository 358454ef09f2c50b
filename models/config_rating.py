"""Telco rate tables in config: ``config/rating/<code>.v<version>.yaml``, kind ``rate_table``.

A table has one currency and one timezone; bands (weekly windows, local time) that cover the
week exactly once; destinations by E.164 number prefix (longest prefix wins) with voice prices
per minute and charging increments, a setup fee per connected call and SMS prices per message;
and a data price per MB. A price is one amount for every band, or a mapping band -> amount.
Validated into ``billing.rating.RateTable`` (``to_core``) with located messages.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, PlainSerializer, StrictInt, model_validator
from pydantic_core import PydanticCustomError

from billing.rating import (
    Band,
    BandWindow,
    DataRate,
    Destination,
    Increments,
    RateTable,
    Service,
    VoiceRate,
    coverage_issues,
)
from models.config_types import (
    Amount,
    Code,
    CurrencyCode,
    Issue,
    Loc,
    Text,
    _check_timezone,
    _Config,
    _duplicates,
    _parse_amount,
    rules_error,
)

_TIME_RE = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$|^24:00$")
Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def _quoted(what: str, example: str) -> Any:
    def check(value: Any) -> Any:
        if not isinstance(value, str):
            raise PydanticCustomError(
                "not_quoted",
                '{what} must be a quoted string (write "{example}"), got {kind} {value}',
                {"what": what, "example": example, "kind": type(value).__name__, "value": value},
            )
        return value

    return BeforeValidator(check)


def _time(value: str) -> str:
    if not _TIME_RE.match(value):
        message = "'{value}' is not a time: write \"HH:MM\" from 00:00 to 24:00"
        raise PydanticCustomError("time_format", message, {"value": value})
    return value


def _increments(value: str) -> str:
    try:
        Increments.parse(value)
    except ValueError as exc:
        raise PydanticCustomError("increments", "{message}", {"message": str(exc)}) from None
    return value


# Before-validators run last-listed first: the quoting check runs before the format check.
Time = Annotated[str, BeforeValidator(_time), _quoted("a time", "08:00")]
Prefix = Annotated[str, _quoted("a prefix", "336"), Field(pattern=r"^[0-9]{1,15}$")]
IncrementsText = Annotated[str, BeforeValidator(_increments), _quoted("increments", "60/60")]


def _price_json(price: Decimal | dict[str, Decimal]) -> str | dict[str, str]:
    if isinstance(price, Decimal):
        return format(price, "f")
    return {band: format(amount, "f") for band, amount in price.items()}


def _price(value: Any) -> Any:
    """One amount for every band, or a mapping band -> amount (each a quoted string)."""
    if not isinstance(value, dict):
        return _parse_amount(value)
    prices: dict[Any, Decimal] = {}
    issues: list[Issue] = []
    for band, amount in value.items():
        try:
            prices[band] = _parse_amount(amount)
        except PydanticCustomError as exc:
            issues.append(((band,), exc.message()))
    if issues:
        raise rules_error(issues)
    return prices


Price = Annotated[
    Decimal | dict[str, Decimal],
    BeforeValidator(_price),
    PlainSerializer(_price_json, when_used="json"),
]


def _minutes(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


class WindowConfig(_Config):
    days: Annotated[list[Day], Field(min_length=1)]
    start: Time
    end: Time  # at or before start: crosses midnight into the next day

    def to_core(self) -> BandWindow:
        return BandWindow(tuple(self.days), _minutes(self.start), _minutes(self.end))


class BandConfig(_Config):
    code: Code
    windows: Annotated[list[WindowConfig], Field(min_length=1)]


class VoiceConfig(_Config):
    per_minute: Price
    increments: IncrementsText = "60/60"
    setup_fee: Amount = Decimal(0)


class DestinationConfig(_Config):
    prefix: Prefix
    name: Text
    voice: VoiceConfig | None = None
    sms: Price | None = None  # per message


class DataConfig(_Config):
    per_mb: Price  # per MB of 1,000,000 bytes
    increment_bytes: StrictInt = Field(default=1000, ge=1, le=1_000_000_000)


class ServiceMetrics(_Config):
    voice: Code | None = None  # usage metric whose quantity is call seconds
    data: Code | None = None  # ... bytes
    sms: Code | None = None  # ... messages


class RateTableConfig(_Config):
    kind: Literal["rate_table"] = "rate_table"
    code: Code
    version: StrictInt = Field(ge=1)
    name: Text
    currency: CurrencyCode
    timezone: Annotated[str, BeforeValidator(_check_timezone)]
    metrics: ServiceMetrics
    destination_property: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$")] = (
        "destination"
    )
    bands: Annotated[list[BandConfig], Field(min_length=1)]
    destinations: Annotated[list[DestinationConfig], Field(min_length=1)]
    data: DataConfig | None = None

    @model_validator(mode="after")
    def _rules(self) -> RateTableConfig:
        issues = _duplicates(
            ((("bands", i, "code"), b.code) for i, b in enumerate(self.bands)), "band code"
        )
        issues += _duplicates(
            ((("destinations", i, "prefix"), d.prefix) for i, d in enumerate(self.destinations)),
            "prefix",
        )
        issues += self._band_issues()
        codes = [b.code for b in self.bands]
        for i, dest in enumerate(self.destinations):
            if dest.voice is not None:
                loc: Loc = ("destinations", i, "voice", "per_minute")
                issues += _price_issues(loc, dest.voice.per_minute, codes)
            if dest.sms is not None:
                issues += _price_issues(("destinations", i, "sms"), dest.sms, codes)
            if dest.voice is None and dest.sms is None:
                issues.append((("destinations", i), "price voice, sms or both"))
        if self.data is not None:
            issues += _price_issues(("data", "per_mb"), self.data.per_mb, codes)
        issues += self._metric_issues()
        if issues:
            raise rules_error(issues)
        return self

    def _metric_issues(self) -> list[Issue]:
        m = self.metrics
        named = (("voice", m.voice), ("data", m.data), ("sms", m.sms))
        issues = _duplicates(((("metrics", svc), code) for svc, code in named if code), "metric")
        if not (m.voice or m.data or m.sms):
            issues.append((("metrics",), "name the usage metric of at least one service"))
        if m.data and self.data is None:
            issues.append((("metrics", "data"), "a data metric needs a `data:` price section"))
        if m.voice and not any(d.voice for d in self.destinations):
            issues.append((("metrics", "voice"), "no destination has a voice price"))
        if m.sms and not any(d.sms for d in self.destinations):
            issues.append((("metrics", "sms"), "no destination has an sms price"))
        return issues

    def _band_issues(self) -> list[Issue]:
        bands = [Band(b.code, tuple(w.to_core() for w in b.windows)) for b in self.bands]
        issues: list[Issue] = []
        for at, message in coverage_issues(bands):
            loc: Loc = ("bands",) if at is None else ("bands", at[0], "windows", at[1])
            issues.append((loc, message))
        return issues

    def to_core(self) -> RateTable:
        codes = [b.code for b in self.bands]
        named: dict[Service, str | None] = {
            "voice": self.metrics.voice,
            "data": self.metrics.data,
            "sms": self.metrics.sms,
        }
        metrics = {svc: code for svc, code in named.items() if code}
        return RateTable(
            code=self.code,
            version=self.version,
            currency=self.currency,
            timezone=self.timezone,
            bands=tuple(Band(b.code, tuple(w.to_core() for w in b.windows)) for b in self.bands),
            destinations=tuple(_destination(d, codes) for d in self.destinations),
            data=(
                DataRate(_per_band(self.data.per_mb, codes), self.data.increment_bytes)
                if self.data
                else None
            ),
            metrics=metrics,
            destination_property=self.destination_property,
        )


def _price_issues(loc: Loc, price: Decimal | dict[str, Decimal], codes: list[str]) -> list[Issue]:
    if isinstance(price, Decimal):
        return []
    issues: list[Issue] = [
        ((*loc,), f"no price for band {code!r}: price every band ({', '.join(codes)})")
        for code in codes
        if code not in price
    ]
    issues += [
        ((*loc, code), f"unknown band {code!r} (bands: {', '.join(codes)})")
        for code in price
        if code not in codes
    ]
    return issues


def _per_band(price: Decimal | dict[str, Decimal], codes: list[str]) -> dict[str, Decimal]:
    if isinstance(price, Decimal):
        return dict.fromkeys(codes, price)
    return dict(price)


def _destination(dest: DestinationConfig, codes: list[str]) -> Destination:
    voice = None
    if dest.voice is not None:
        voice = VoiceRate(
            per_minute=_per_band(dest.voice.per_minute, codes),
            increments=Increments.parse(dest.voice.increments),
            setup_fee=dest.voice.setup_fee,
        )
    sms = _per_band(dest.sms, codes) if dest.sms is not None else None
    return Destination(prefix=dest.prefix, name=dest.name, voice=voice, sms=sms)
