"""Small checks shared by the charge models: each returns a problem sentence or None."""

from __future__ import annotations

from decimal import Decimal

from billing.money import PRECISE_PLACES


def decimal_problem(
    value: object, name: str, *, minimum: Decimal | None = Decimal(0)
) -> str | None:
    """Why `value` is not an acceptable amount or quantity, or None when it is."""
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        return f"{name} must be a Decimal such as Decimal('1.23'), got {type(value).__name__}"
    amount = Decimal(value)
    if not amount.is_finite():
        return f"{name} must be a finite Decimal, got {amount}"
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -PRECISE_PLACES:
        return f"{name} has more than {PRECISE_PLACES} decimal places: {amount}"
    if minimum is not None and amount < minimum:
        return f"{name} must be >= {minimum}, got {amount}"
    return None


def int_problem(value: object, name: str, *, minimum: int) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return f"{name} must be an int, got {type(value).__name__}"
    if value < minimum:
        return f"{name} must be >= {minimum}, got {value}"
    return None


def text_problem(value: object, name: str) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return f"{name} must be a non-empty string, got {value!r}"
    return None


def collect(*problems: str | None) -> list[str]:
    return [problem for problem in problems if problem is not None]


def raise_if_invalid(owner: str, problems: list[str]) -> None:
    """Raise ValueError listing every problem of `owner`, each with how to fix it."""
    if problems:
        raise ValueError(f"invalid {owner}: " + "; ".join(problems))
