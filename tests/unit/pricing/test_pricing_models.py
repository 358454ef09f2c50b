"""Charge models: exact prices at boundaries, free units, validators with clear messages."""

import re
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.pricing import (
    Charge,
    Graduated,
    Package,
    Percentage,
    PerUnit,
    RecurringFee,
    Tier,
    Volume,
    price_transaction_total,
    price_transactions,
    price_usage,
)

D = Decimal
TIERS = (Tier(D("100"), D("0.10")), Tier(D("1000"), D("0.05")), Tier(None, D("0.01")))
FLAT_TIERS = (
    Tier(D("10"), D("0"), flat_amount=D("5")),
    Tier(D("20"), D("1"), flat_amount=D("2")),
    Tier(None, D("0.5")),
)


@pytest.mark.parametrize(
    ("model", "quantity", "expected"),
    [
        (PerUnit(D("0.0015")), D("1234.5"), D("1.851750000")),
        (PerUnit(D("0.0015"), free_units=D("1000")), D("1234.5"), D("0.351750000")),
        (PerUnit(D("2"), free_units=D("1000")), D("999.999"), D("0E-9")),
        (PerUnit(D("0.000000001")), D("0.5"), D("1E-9")),  # half a nano rounds half up
        # graduated: 100 x 0.10 + 900 x 0.05 + rest x 0.01
        (Graduated(TIERS), D("0"), D("0E-9")),
        (Graduated(TIERS), D("100"), D("10.000000000")),  # exactly at up_to: all in tier 1
        (Graduated(TIERS), D("100.5"), D("10.025000000")),
        (Graduated(TIERS), D("1000"), D("55.000000000")),
        (Graduated(TIERS), D("1001"), D("55.010000000")),
        (Graduated(TIERS, free_units=D("50")), D("150"), D("10.000000000")),
        # graduated with a flat fee per tier reached
        (Graduated(FLAT_TIERS), D("10"), D("5.000000000")),
        (Graduated(FLAT_TIERS), D("10.5"), D("7.500000000")),
        (Graduated(FLAT_TIERS), D("25"), D("19.500000000")),  # 5 + (2 + 10) + 5 x 0.5
        # volume: every unit at the price of the tier the quantity falls in
        (Volume(TIERS), D("0"), D("0E-9")),
        (Volume(TIERS), D("100"), D("10.000000000")),
        (Volume(TIERS), D("100.001"), D("5.000050000")),
        (Volume(TIERS), D("1000"), D("50.000000000")),
        (Volume(TIERS), D("1000.5"), D("10.005000000")),
        (Volume(FLAT_TIERS), D("10"), D("5.000000000")),
        (Volume(FLAT_TIERS), D("11"), D("13.000000000")),
        (Volume(FLAT_TIERS, free_units=D("5")), D("16"), D("13.000000000")),
        # package: a started block is billed whole
        (Package(100, D("1.50")), D("0"), D("0E-9")),
        (Package(100, D("1.50")), D("1"), D("1.500000000")),
        (Package(100, D("1.50")), D("100"), D("1.500000000")),
        (Package(100, D("1.50")), D("100.000000001"), D("3.000000000")),
        (Package(100, D("1.50")), D("200"), D("3.000000000")),
        (Package(100, D("1.50"), free_units=D("100")), D("201"), D("3.000000000")),
    ],
)
def test_price_usage(model: PerUnit, quantity: Decimal, expected: Decimal) -> None:
    amount = price_usage(model, quantity)
    assert amount == expected
    assert amount.as_tuple().exponent == -9


def test_volume_picks_the_tier_by_quantity_at_the_boundary() -> None:
    assert Volume(TIERS).tier_for(D("100")) is TIERS[0]
    assert Volume(TIERS).tier_for(D("100.000000001")) is TIERS[1]


@pytest.mark.parametrize(
    ("model", "amounts", "expected"),
    [
        (Percentage(D("0.029"), D("0.30")), [D("100"), D("10")], D("3.790000000")),
        (Percentage(D("0.029")), [D("0.01")], D("0.000290000")),
        (Percentage(D("0.01"), min_amount=D("0.50")), [D("10"), D("100")], D("1.500000000")),
        (Percentage(D("0.01"), max_amount=D("5")), [D("100"), D("1000")], D("6.000000000")),
        (
            Percentage(D("0.02"), D("0.10"), min_amount=D("0.25"), max_amount=D("2")),
            [D("0"), D("5"), D("50"), D("500")],  # 0.25 (min), 0.25 (min), 1.10, 2 (max)
            D("3.600000000"),
        ),
        (Percentage(D("0.029"), D("0.30")), [], D("0E-9")),
    ],
)
def test_price_transactions(model: Percentage, amounts: list[Decimal], expected: Decimal) -> None:
    assert price_transactions(model, amounts) == expected


def test_price_transaction_total_without_bounds_is_linear() -> None:
    model = Percentage(D("0.029"), D("0.30"))
    assert price_transaction_total(model, D("110"), 2) == D("3.790000000")
    with pytest.raises(ValueError, match="needs each transaction's amount"):
        price_transaction_total(Percentage(D("0.01"), max_amount=D("1")), D("5"), 1)


def test_a_negative_transaction_is_refused_with_its_index() -> None:
    with pytest.raises(ValueError, match="transaction 1 amount must be >= 0"):
        price_transactions(Percentage(D("0.01")), [D("1"), D("-1")])


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: PerUnit(D("-1")), "unit_amount must be >= 0"),
        (lambda: PerUnit(1.5), "unit_amount must be a Decimal"),  # type: ignore[arg-type]
        (lambda: PerUnit(D("0.0000000001")), "more than 9 decimal places"),
        (lambda: Graduated(()), "non-empty tuple"),
        (
            lambda: Graduated((Tier(D("10"), D("1")), Tier(D("10"), D("1")), Tier(None, D("1")))),
            "tier 2 up_to 10 must be greater than the previous ceiling 10",
        ),
        (
            lambda: Volume((Tier(D("10"), D("1")), Tier(D("5"), D("1")), Tier(None, D("1")))),
            "tier 2 up_to 5 must be greater",
        ),
        (lambda: Volume((Tier(D("10"), D("1")),)), "must have up_to None"),
        (
            lambda: Volume((Tier(None, D("1")), Tier(None, D("1")))),
            "tier 1 has no up_to but is not the last",
        ),
        (lambda: Tier(D("10"), D("1"), flat_amount=D("-1")), "tier flat_amount must be >= 0"),
        (lambda: Package(0, D("1")), "package_size must be >= 1"),
        (lambda: Package(D("10"), D("1")), "package_size must be an int"),  # type: ignore[arg-type]
        (lambda: Percentage(D("2.9")), "write 2.9 % as Decimal('0.029')"),
        (
            lambda: Percentage(D("0.01"), min_amount=D("2"), max_amount=D("1")),
            "min_amount 2 is above max_amount 1",
        ),
        (lambda: RecurringFee(D("10"), "monthly"), "timing 'monthly' is unknown"),  # type: ignore[arg-type]
        (lambda: Charge("api", "API", PerUnit(D("1"))), "metric_code must be a non-empty"),
        (lambda: Charge("fee", "Fee", RecurringFee(D("1")), "api"), "has no metric_code"),
        (lambda: Charge("", "Fee", RecurringFee(D("1"))), "code must be a non-empty"),
    ],
)
def test_invalid_models_are_refused_with_a_clear_message(build: object, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        build()  # type: ignore[operator]


def test_validate_lists_every_problem() -> None:
    model = object.__new__(Percentage)
    object.__setattr__(model, "rate", D("-1"))
    object.__setattr__(model, "fixed_amount", D("-2"))
    object.__setattr__(model, "min_amount", None)
    object.__setattr__(model, "max_amount", None)
    assert model.validate() == ["rate must be >= 0, got -1", "fixed_amount must be >= 0, got -2"]


def test_recurring_fee_per_seat() -> None:
    assert RecurringFee(D("12.5"), per_seat=True).full_amount(3) == D("37.500000000")
    assert RecurringFee(D("12.5")).full_amount(3) == D("12.500000000")


quantities = st.decimals(min_value=0, max_value=10**6, places=3, allow_nan=False)


@st.composite
def tier_lists(draw: st.DrawFn) -> tuple[Tier, ...]:
    ceilings = sorted(set(draw(st.lists(st.integers(1, 10**5), min_size=0, max_size=4))))
    prices = st.decimals(min_value=0, max_value=100, places=4, allow_nan=False)
    tiers = [Tier(D(ceiling), draw(prices)) for ceiling in ceilings]
    return (*tiers, Tier(None, draw(prices)))


@given(tiers=tier_lists(), low=quantities, high=quantities)
def test_graduated_totals_never_decrease(
    tiers: tuple[Tier, ...], low: Decimal, high: Decimal
) -> None:
    low, high = min(low, high), max(low, high)
    model = Graduated(tiers)
    assert price_usage(model, low) <= price_usage(model, high)


@given(tiers=tier_lists(), data=st.data())
def test_graduated_has_no_jump_at_a_tier_boundary(
    tiers: tuple[Tier, ...], data: st.DataObject
) -> None:
    model = Graduated(tiers)
    nano = D("0.000000001")
    highest_price = max(tier.unit_amount for tier in tiers)
    for tier in tiers[:-1]:
        assert tier.up_to is not None
        at = price_usage(model, tier.up_to)
        after = price_usage(model, tier.up_to + nano)
        assert D(0) <= after - at <= highest_price * nano + nano  # continuous up to rounding
    quantity = data.draw(quantities)
    assert price_usage(model, quantity) >= 0
