"""The gateway port's contracts, the factory, and the stand-ins helper."""

from __future__ import annotations

import pydantic
import pytest

from payments.adyen_gateway import AdyenGateway
from payments.factory import build_gateways
from payments.port import ChargeRequest, ChargeResult
from payments.standins import start_payment_standins
from payments.stripe_gateway import StripeGateway

VALID = {
    "idempotency_key": "invoice:INV-1:attempt:1",
    "amount_minor": 100,
    "currency": "usd",
    "customer_id": "cus_1",
    "payment_method_token": "pm_card_visa",
    "description": "",
    "invoice_id": "INV-1",
}


def test_charge_request_normalises_currency_and_is_frozen() -> None:
    request = ChargeRequest.model_validate(VALID)

    assert request.currency == "USD"
    with pytest.raises(pydantic.ValidationError):
        request.amount_minor = 5  # type: ignore[misc]


@pytest.mark.parametrize(
    "override",
    [
        {"amount_minor": 0},
        {"amount_minor": "100"},
        {"currency": "EURO"},
        {"idempotency_key": "k" * 256},
        {"idempotency_key": ""},
        {"invoice_id": ""},
    ],
)
def test_charge_request_rejects_bad_fields(override: dict[str, object]) -> None:
    with pytest.raises(pydantic.ValidationError):
        ChargeRequest.model_validate(VALID | override)


def test_charge_result_ties_decline_code_to_status() -> None:
    with pytest.raises(pydantic.ValidationError, match="decline_code"):
        ChargeResult(status="declined", gateway="stripe")
    with pytest.raises(pydantic.ValidationError, match="decline_code"):
        ChargeResult(status="succeeded", gateway="stripe", decline_code="generic_decline")


def test_factory_builds_both_gateways_against_the_standins() -> None:
    standins = start_payment_standins(stripe_port=0, adyen_port=0)
    try:
        gateways = build_gateways(
            stripe_api_key="sk_test_o2c",
            stripe_api_base=standins.stripe.url,
            adyen_api_key="adyen_test_o2c",
            adyen_merchant_account="O2CMerchant",
            adyen_environment="test",
            adyen_api_base=standins.adyen.url,
        )
        assert isinstance(gateways["stripe"], StripeGateway)
        assert isinstance(gateways["adyen"], AdyenGateway)
        request = ChargeRequest.model_validate(VALID)
        for name, gateway in gateways.items():
            assert gateway.name == name
            assert gateway.charge(request).status == "succeeded"
        assert len(standins.stripe.charges) == len(standins.adyen.charges) == 1
    finally:
        standins.stop()


def test_factory_with_empty_bases_targets_the_real_services() -> None:
    gateways = build_gateways(
        stripe_api_key="sk_test_x",
        stripe_api_base="",
        adyen_api_key="key",
        adyen_merchant_account="O2CMerchant",
        adyen_environment="test",
        adyen_api_base="",
    )
    adyen = gateways["adyen"]
    assert isinstance(adyen, AdyenGateway)
    assert adyen._payments_api.baseUrl.startswith("https://checkout-test.adyen.com/")
