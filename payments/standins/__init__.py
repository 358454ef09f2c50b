"""Loopback stand-ins for the payment gateways (see each module for its token behaviours)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self

from payments.standins.adyen_standin import AdyenStandIn
from payments.standins.stripe_standin import StripeStandIn
from payments.standins.tokens import TOKEN_BEHAVIOURS, StandInCharge

__all__ = [
    "TOKEN_BEHAVIOURS",
    "AdyenStandIn",
    "PaymentStandIns",
    "StandInCharge",
    "StripeStandIn",
    "start_payment_standins",
]


@dataclass
class PaymentStandIns:
    stripe: StripeStandIn
    adyen: AdyenStandIn

    def stop(self) -> None:
        self.stripe.stop()
        self.adyen.stop()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def start_payment_standins(
    host: str = "127.0.0.1", stripe_port: int = 12111, adyen_port: int = 12112
) -> PaymentStandIns:
    """Start both stand-ins (port 0 picks a free port); stop them with ``.stop()``."""
    stripe = StripeStandIn(host, stripe_port).start()
    try:
        adyen = AdyenStandIn(host, adyen_port).start()
    except BaseException:
        stripe.stop()
        raise
    return PaymentStandIns(stripe=stripe, adyen=adyen)
