"""Pricing throughput: synthetic subscription periods with mixed charge models, priced through
`billing.invoice.build_invoice` exactly as the bill run does. Only pricing is timed (the
synthetic terms are built beforehand). The last line is `priced_lines_per_s=<n>`.

    .venv/bin/python bench/pricing.py [--lines N]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from billing.invoice import (
    AccountTerms,
    FlatCharge,
    SubscriptionTerms,
    UsageCharge,
    UsageTotal,
    build_invoice,
)
from billing.periods import Schedule
from billing.pricing import (
    Charge,
    Commitment,
    Coupon,
    CouponRedemption,
    Graduated,
    Package,
    Percentage,
    RecurringFee,
    Tier,
    Volume,
)

D = Decimal
CYCLE = date(2028, 2, 29)  # bill-cycle day 29 in a leap year
TIERS = (Tier(D("1000"), D("0.01")), Tier(D("10000"), D("0.008")), Tier(None, D("0.005")))
CHARGES = (
    Charge("platform", "Platform fee", RecurringFee(D("99.00"))),
    Charge("seats", "Seats", RecurringFee(D("12.50"), per_seat=True)),
    Charge("support", "Support (arrears)", RecurringFee(D("30"), timing="arrears")),
    Charge("api", "API calls", Graduated(TIERS, free_units=D("100")), "api_calls"),
    Charge("storage", "Storage", Volume(TIERS), "storage_gb"),
    Charge("sms", "SMS", Package(100, D("1.50")), "sms"),
    Charge("payments", "Payment fees", Percentage(D("0.029"), D("0.30")), "payment_volume"),
)
METRICS = ("api_calls", "storage_gb", "sms", "payment_volume", "minutes")
COUPONS = (
    CouponRedemption(Coupon("TENOFF", "percent", D("10"), "forever", applies_to="api"), CYCLE),
    CouponRedemption(Coupon("WELCOME", "amount", D("5"), "repeating", 3), date(2028, 1, 15)),
)


@dataclass(frozen=True)
class Account:
    terms: AccountTerms
    subscriptions: list[SubscriptionTerms]
    usage: list[UsageTotal]


def synthetic_account(index: int, rng: random.Random) -> Account:
    currency = rng.choice(["USD", "EUR", "JPY", "BHD"])
    terms = AccountTerms(f"cus-{index}", currency, "Europe/Paris", 29)
    subscriptions: list[SubscriptionTerms] = []
    usage: list[UsageTotal] = []
    for number in range(3):
        subscription_id = f"sub-{index}-{number}"
        started_on = date(2027, rng.randint(1, 12), rng.randint(1, 28))
        subscriptions.append(
            SubscriptionTerms(
                subscription_id=subscription_id,
                plan_code="mixed",
                plan_name="Mixed",
                quantity=rng.randint(1, 50),
                status="active",
                started_on=started_on,
                trial_end_on=None,
                cancelled_on=None,
                flat_charges=(FlatCharge("Base", D("19.99")),),
                usage_charges=(UsageCharge("minutes", "Minutes", D("0.0125")),),
                charges=CHARGES,
                schedule=Schedule("month", rng.choice(["calendar", "anniversary"])),
                coupons=COUPONS if number == 0 else (),
                commitment=Commitment(D("500")) if number == 1 else None,
            )
        )
        for metric in METRICS:
            quantity = D(rng.randint(0, 50_000)) + D(rng.randint(0, 999)) / 1000
            group = rng.choice([None, "eu-west"]) if metric == "api_calls" else None
            count = rng.randint(1, 500) if metric == "payment_volume" else None
            usage.append(UsageTotal(subscription_id, metric, quantity, group, count=count))
    return Account(terms, subscriptions, usage)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=300_000, help="priced lines to aim for")
    args = parser.parse_args()
    rng = random.Random(7)
    sample = [synthetic_account(index, rng) for index in range(200)]
    lines_per_pass = sum(_price(account) for account in sample[:20]) / 20 * len(sample)
    passes = max(1, round(args.lines / lines_per_pass))
    priced = 0
    started = time.perf_counter()
    for _ in range(passes):
        for account in sample:
            priced += _price(account)
    elapsed = time.perf_counter() - started
    invoices = passes * len(sample)
    print(f"invoices={invoices} priced_lines={priced} seconds={elapsed:.3f}")
    print(f"lines_per_invoice={priced / invoices:.1f} invoices_per_s={invoices / elapsed:.0f}")
    print(f"priced_lines_per_s={int(priced / elapsed)}")


def _price(account: Account) -> int:
    draft = build_invoice(account.terms, account.subscriptions, account.usage, CYCLE)
    return len(draft.lines)


if __name__ == "__main__":
    main()
