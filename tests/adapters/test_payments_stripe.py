"""StripeGateway through the real stripe SDK against the loopback Stripe stand-in."""

from __future__ import annotations

import socket

import pytest

from payments.port import (
    ChargeRequest,
    GatewayInvalidRequestError,
    GatewayTransientError,
)
from payments.standins import StripeStandIn
from payments.stripe_gateway import StripeGateway


def _request(
    token: str, key: str = "invoice:INV-1:attempt:1", **overrides: object
) -> ChargeRequest:
    fields: dict[str, object] = {
        "idempotency_key": key,
        "amount_minor": 12_345,
        "currency": "EUR",
        "customer_id": "cus_123",
        "payment_method_token": token,
        "description": "Invoice INV-1",
        "invoice_id": "INV-1",
    }
    return ChargeRequest.model_validate(fields | overrides)


def _gateway(standin: StripeStandIn) -> StripeGateway:
    return StripeGateway("sk_test_o2c", standin.url)


def test_success_sends_the_expected_payment_intent(payments_stripe_standin: StripeStandIn) -> None:
    result = _gateway(payments_stripe_standin).charge(_request("pm_card_visa"))

    assert result.status == "succeeded"
    assert result.gateway == "stripe"
    assert result.decline_code is None
    [charge] = payments_stripe_standin.charges
    assert result.gateway_reference == charge.reference
    [sent] = payments_stripe_standin.requests
    assert sent.path == "/v1/payment_intents"
    assert sent.idempotency_key == "invoice:INV-1:attempt:1"
    assert sent.header("Authorization") == "Bearer sk_test_o2c"
    assert sent.body["amount"] == "12345"
    assert sent.body["currency"] == "eur"
    assert sent.body["customer"] == "cus_123"
    assert sent.body["payment_method"] == "pm_card_visa"
    assert sent.body["confirm"] == "true"
    assert sent.body["off_session"] == "true"
    assert sent.body["metadata"] == {"invoice_id": "INV-1"}
    assert sent.body["description"] == "Invoice INV-1"


@pytest.mark.parametrize(
    ("token", "decline_code"),
    [
        ("pm_card_chargeDeclined", "generic_decline"),
        ("pm_card_chargeDeclinedInsufficientFunds", "insufficient_funds"),
    ],
)
def test_declines_are_values(
    payments_stripe_standin: StripeStandIn, token: str, decline_code: str
) -> None:
    result = _gateway(payments_stripe_standin).charge(_request(token))

    assert result.status == "declined"
    assert result.decline_code == decline_code
    assert result.gateway_reference == payments_stripe_standin.charges[0].reference


def test_fail_then_succeed_declines_first_attempt_only(
    payments_stripe_standin: StripeStandIn,
) -> None:
    gateway = _gateway(payments_stripe_standin)
    token = "pm_card_fail_then_succeed"

    first = gateway.charge(_request(token, "invoice:INV-1:attempt:1"))
    replayed = gateway.charge(_request(token, "invoice:INV-1:attempt:1"))
    second = gateway.charge(_request(token, "invoice:INV-1:attempt:2"))

    assert (first.status, first.decline_code) == ("declined", "generic_decline")
    assert replayed == first
    assert second.status == "succeeded"
    assert [c.succeeded for c in payments_stripe_standin.charges] == [False, True]


def test_network_error_then_retry_charges_exactly_once(
    payments_stripe_standin: StripeStandIn,
) -> None:
    gateway = _gateway(payments_stripe_standin)
    request = _request("pm_card_network_error", "invoice:INV-9:attempt:1", invoice_id="INV-9")

    with pytest.raises(GatewayTransientError):
        gateway.charge(request)
    result = gateway.charge(request)

    assert result.status == "succeeded"
    [charge] = payments_stripe_standin.charges
    assert result.gateway_reference == charge.reference
    keys = [r.idempotency_key for r in payments_stripe_standin.requests]
    assert keys == ["invoice:INV-9:attempt:1", "invoice:INV-9:attempt:1"]


def test_same_key_different_amount_is_invalid(payments_stripe_standin: StripeStandIn) -> None:
    gateway = _gateway(payments_stripe_standin)
    gateway.charge(_request("pm_card_visa"))

    with pytest.raises(GatewayInvalidRequestError, match="idempotent"):
        gateway.charge(_request("pm_card_visa", amount_minor=999))

    assert len(payments_stripe_standin.charges) == 1


def test_unknown_payment_method_is_invalid(payments_stripe_standin: StripeStandIn) -> None:
    with pytest.raises(GatewayInvalidRequestError, match="No such PaymentMethod"):
        _gateway(payments_stripe_standin).charge(_request("pm_card_unknown"))

    assert payments_stripe_standin.charges == []


def test_wrong_api_key_is_invalid() -> None:
    with StripeStandIn(port=0, api_key="sk_test_right") as standin:
        gateway = StripeGateway("sk_test_wrong", standin.url)
        with pytest.raises(GatewayInvalidRequestError, match="AuthenticationError"):
            gateway.charge(_request("pm_card_visa"))
        assert standin.charges == []


def test_unreachable_gateway_is_transient() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    gateway = StripeGateway("sk_test_o2c", f"http://127.0.0.1:{port}")

    with pytest.raises(GatewayTransientError, match="APIConnectionError"):
        gateway.charge(_request("pm_card_visa"))
