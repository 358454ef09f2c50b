"""Build the payment gateways from plain settings values (the caller reads settings)."""

from __future__ import annotations

from payments.adyen_gateway import AdyenGateway
from payments.port import PaymentGateway
from payments.stripe_gateway import StripeGateway


def build_gateways(
    *,
    stripe_api_key: str,
    stripe_api_base: str,
    adyen_api_key: str,
    adyen_merchant_account: str,
    adyen_environment: str,
    adyen_api_base: str,
) -> dict[str, PaymentGateway]:
    """Gateways keyed by name; an empty api_base means the provider's real service."""
    return {
        "stripe": StripeGateway(stripe_api_key, stripe_api_base or None),
        "adyen": AdyenGateway(
            adyen_api_key,
            adyen_merchant_account,
            adyen_environment,
            adyen_api_base or None,
        ),
    }
