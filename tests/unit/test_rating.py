"""Telco rating: longest prefix, bands in the table's timezone (weekend, midnight crossing,
DST), increments 60/60, 30/6, 1/1, setup fee, data per MB, SMS, zero-value events."""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_CEILING, Decimal

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from billing.money import quantize_precise
from billing.rating import (
    Band,
    BandWindow,
    Destination,
    Increments,
    Rater,
    RateTable,
    RatingError,
    VoiceRate,
)
from models.config_rating import RateTableConfig
from settings import PROJECT_ROOT

D = Decimal


@pytest.fixture(scope="module")
def rater() -> Rater:
    path = PROJECT_ROOT / "config" / "rating" / "telco-demo.v1.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return Rater(RateTableConfig.model_validate(data).to_core())


def at(text: str) -> int:
    """Epoch seconds of an ISO instant with its offset."""
    return int(datetime.fromisoformat(text).timestamp())


MONDAY_10H_PARIS = at("2026-11-02T10:00:00+01:00")


@pytest.mark.parametrize(
    ("number", "prefix", "name"),
    [
        ("+33612345678", "336", "France mobile"),
        ("33612345678", "336", "France mobile"),
        ("+33145678901", "33", "France fixed"),
        ("+33800123456", "33800", "France toll-free"),
        ("+447700900123", "447", "United Kingdom mobile"),
        ("+442079460000", "44", "United Kingdom fixed"),
        ("+4915112345678", "4915", "Germany mobile"),
        ("+14155550100", "1", "United States and Canada"),
    ],
)
def test_the_longest_prefix_wins(rater: Rater, number: str, prefix: str, name: str) -> None:
    rated = rater.rate("voice", number, MONDAY_10H_PARIS, 60)
    assert (rated.prefix, rated.destination_name) == (prefix, name)


def test_an_unknown_destination_is_an_error_naming_the_number(rater: Rater) -> None:
    with pytest.raises(RatingError, match=r"no destination prefix matches '\+999123'"):
        rater.rate("voice", "+999123", MONDAY_10H_PARIS, 60)


@pytest.mark.parametrize(
    ("instant", "band"),
    [
        ("2026-11-02T10:00:00+01:00", "peak"),  # Monday
        ("2026-11-02T07:59:59+01:00", "offpeak"),  # Sunday 20:00 -> Monday 08:00
        ("2026-11-02T08:00:00+01:00", "peak"),
        ("2026-11-02T20:00:00+01:00", "offpeak"),
        ("2026-11-03T02:00:00+01:00", "offpeak"),  # after midnight, Monday's window
        ("2026-11-06T19:59:00+01:00", "peak"),  # Friday
        ("2026-11-06T21:00:00+01:00", "weekend"),  # Friday evening
        ("2026-11-07T12:00:00+01:00", "weekend"),  # Saturday
        ("2026-11-08T19:59:00+01:00", "weekend"),  # Sunday
        ("2026-11-08T20:00:00+01:00", "offpeak"),  # Sunday night
        ("2026-11-02T07:30:00+00:00", "peak"),  # 08:30 in Paris (UTC+1)
        ("2026-07-06T06:30:00+00:00", "peak"),  # 08:30 in Paris (summer time, UTC+2)
        ("2026-11-02T06:30:00+00:00", "offpeak"),  # 07:30 in Paris
    ],
)
def test_bands_follow_the_tables_local_time(rater: Rater, instant: str, band: str) -> None:
    assert rater.rate("sms", "+33612345678", at(instant), 1).band == band


@pytest.mark.parametrize(
    ("increments", "seconds", "billed"),
    [
        ("60/60", 1, 60), ("60/60", 60, 60), ("60/60", 61, 120), ("60/60", 0, 0),
        ("30/6", 1, 30), ("30/6", 30, 30), ("30/6", 31, 36), ("30/6", 36, 36), ("30/6", 37, 42),
        ("1/1", 61, 61), ("6/6", 7, 12),
    ],
)  # fmt: skip
def test_increments_bill_started_steps_whole(increments: str, seconds: int, billed: int) -> None:
    assert Increments.parse(increments).billed_s(seconds) == billed


@pytest.mark.parametrize("text", ["60", "0/60", "60/0", "a/b", "60/60/60", "-1/1"])
def test_bad_increments_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="must be 'first/next' in whole seconds"):
        Increments.parse(text)


@pytest.mark.parametrize(
    ("number", "seconds", "billed", "amount"),
    [
        ("+33612345678", 31, 36, "0.051"),  # 0.06/min x 36 s + 0.015 setup (30/6)
        ("+33612345678", 1, 30, "0.045"),
        ("+442079460000", 61, 120, "0.27"),  # 0.12/min x 2 min + 0.03 setup (60/60)
        ("+33145678901", 59, 60, "0.035"),  # 0.02 + 0.015
        ("+14155550100", 7, 12, "0.018"),  # 0.09/min x 12 s, no setup fee (6/6)
        ("+33612345678", 0, 0, "0"),  # unanswered: no setup fee
        ("+33800123456", 600, 600, "0"),  # toll-free: classified, rated to zero
    ],
)
def test_voice_amounts_are_exact(
    rater: Rater, number: str, seconds: int, billed: int, amount: str
) -> None:
    rated = rater.rate("voice", number, MONDAY_10H_PARIS, seconds)
    assert (rated.service, rated.quantity, rated.billed_quantity) == ("voice", seconds, billed)
    assert rated.amount == D(amount)


def test_zero_value_events_are_classified(rater: Rater) -> None:
    rated = rater.rate("voice", "+33800123456", at("2026-11-07T12:00:00+01:00"), 0)
    assert (rated.prefix, rated.band, rated.amount_nanos) == ("33800", "weekend", 0)


@pytest.mark.parametrize(
    ("nbytes", "billed", "amount"),
    [
        (1, 1000, "0.00001"),  # a started kilobyte at 0.01/MB
        (1_500_000, 1_500_000, "0.015"),
        (1_500_001, 1_501_000, "0.01501"),
        (0, 0, "0"),
    ],
)
def test_data_is_priced_per_mb_in_started_increments(
    rater: Rater, nbytes: int, billed: int, amount: str
) -> None:
    rated = rater.rate("data", "", MONDAY_10H_PARIS, nbytes)
    assert (rated.billed_quantity, rated.amount, rated.band) == (billed, D(amount), "peak")


def test_data_off_peak_is_cheaper(rater: Rater) -> None:
    night = rater.rate("data", "", at("2026-11-02T23:00:00+01:00"), 2_000_000)
    assert (night.band, night.amount) == ("offpeak", D("0.01"))


def test_sms_is_priced_per_message(rater: Rater) -> None:
    rated = rater.rate("sms", "+447700900123", MONDAY_10H_PARIS, 3)
    assert (rated.destination_name, rated.quantity, rated.amount) == (
        "United Kingdom mobile", 3, D("0.3"),
    )  # fmt: skip


def test_a_destination_without_voice_price_cannot_rate_calls() -> None:
    table = _table(Destination("4480", "UK shortcodes", sms={"all": D("0.25")}))
    with pytest.raises(RatingError, match="has no voice price"):
        Rater(table).rate("voice", "448012", 0, 10)


def _table(*destinations: Destination) -> RateTable:
    week = Band("all", (BandWindow(("mon", "tue", "wed", "thu", "fri", "sat", "sun"), 0, 1440),))
    return RateTable("t", 1, "EUR", "UTC", (week,), destinations)


def test_table_validation_reports_overlaps_gaps_and_duplicates() -> None:
    voice = VoiceRate({"a": D("0.1"), "b": D("0.1")}, Increments(60, 60))
    bands = (
        Band("a", (BandWindow(("mon",), 0, 600),)),
        Band("b", (BandWindow(("mon",), 540, 1440),)),
    )
    with pytest.raises(ValueError) as info:
        RateTable(
            "t", 1, "EUR", "UTC", bands, (Destination("33", "x", voice), Destination("33", "y"))
        )
    message = str(info.value)
    assert "overlaps band 'a' windows[0] from mon 09:00" in message
    assert "gaps in the week: tue 00:00 to mon 00:00" in message
    assert "prefix '33' is listed twice" in message


@given(
    price_nanos=st.integers(0, 10**10),
    setup_nanos=st.integers(0, 10**8),
    seconds=st.integers(0, 20_000),
    first=st.integers(1, 120),
    step=st.integers(1, 60),
)
def test_integer_rating_equals_decimal_arithmetic(
    price_nanos: int, setup_nanos: int, seconds: int, first: int, step: int
) -> None:
    price, setup = D(price_nanos).scaleb(-9), D(setup_nanos).scaleb(-9)
    table = _table(Destination("1", "x", VoiceRate({"all": price}, Increments(first, step), setup)))
    rated = Rater(table).rate("voice", "1555", 0, seconds)
    if seconds == 0:
        assert rated.amount == 0
        return
    steps = max(D(seconds - first) / step, D(0)).to_integral_value(rounding=ROUND_CEILING)
    billed = first + int(steps) * step
    assert rated.billed_quantity == billed
    assert rated.amount == quantize_precise(price * billed / 60) + setup
