"""Prepaid credits: a wallet consumed before charging, never below zero."""

from __future__ import annotations


def apply_credits(balance_minor: int, total_minor: int) -> tuple[int, int]:
    """(applied_minor, remaining_balance_minor): the wallet pays as much of a positive total
    as it holds; it never pays more than the total and never goes below zero."""
    for name, value in (("balance_minor", balance_minor), ("total_minor", total_minor)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{name} must be an int of minor units, got {type(value).__name__}")
    if balance_minor < 0:
        raise ValueError(f"a prepaid credit balance cannot be negative, got {balance_minor}")
    applied = min(balance_minor, max(0, total_minor))
    return applied, balance_minor - applied
