"""AdyenGateway through the real Adyen SDK against the loopback Adyen stand-in."""

from __future__ import annotations

import hashlib
import socket

import pytest

from payments.adyen_gateway import AdyenGateway, normalise_refusal
from payments.port import (
    ChargeRequest,
    GatewayInvalidRequestError,
    GatewayTransientError,
)
from payments.standins import AdyenStandIn


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


def _gateway(standin: AdyenStandIn, api_key: str = "adyen_test_key") -> AdyenGateway:
    return AdyenGateway(api_key, "O2CMerchant", "test", standin.url)


def test_success_sends_the_expected_payment(payments_adyen_standin: AdyenStandIn) -> None:
    result = _gateway(payments_adyen_standin).charge(_request("pm_card_visa"))

    assert result.status == "succeeded"
    assert result.gateway == "adyen"
    assert result.decline_code is None
    [charge] = payments_adyen_standin.charges
    assert result.gateway_reference == charge.reference
    [sent] = payments_adyen_standin.requests
    assert sent.path.endswith("/payments")
    assert sent.idempotency_key == "invoice:INV-1:attempt:1"
    assert sent.header("X-API-Key") == "adyen_test_key"
    assert sent.body["merchantAccount"] == "O2CMerchant"
    assert sent.body["amount"] == {"value": 12_345, "currency": "EUR"}
    assert sent.body["reference"] == "INV-1"
    assert sent.body["paymentMethod"] == {
        "type": "scheme",
        "storedPaymentMethodId": "pm_card_visa",
    }
    assert sent.body["shopperReference"] == "cus_123"
    assert sent.body["shopperInteraction"] == "ContAuth"
    assert sent.body["recurringProcessingModel"] == "UnscheduledCardOnFile"


@pytest.mark.parametrize(
    ("token", "decline_code"),
    [
        ("pm_card_chargeDeclined", "generic_decline"),
        ("pm_card_chargeDeclinedInsufficientFunds", "insufficient_funds"),
    ],
)
def test_refusals_are_declined_values(
    payments_adyen_standin: AdyenStandIn, token: str, decline_code: str
) -> None:
    result = _gateway(payments_adyen_standin).charge(_request(token))

    assert result.status == "declined"
    assert result.decline_code == decline_code
    assert result.gateway_reference == payments_adyen_standin.charges[0].reference


def test_fail_then_succeed_declines_first_attempt_only(
    payments_adyen_standin: AdyenStandIn,
) -> None:
    gateway = _gateway(payments_adyen_standin)
    token = "pm_card_fail_then_succeed"

    first = gateway.charge(_request(token, "invoice:INV-1:attempt:1"))
    replayed = gateway.charge(_request(token, "invoice:INV-1:attempt:1"))
    second = gateway.charge(_request(token, "invoice:INV-1:attempt:2"))

    assert (first.status, first.decline_code) == ("declined", "generic_decline")
    assert replayed == first
    assert second.status == "succeeded"
    assert [c.succeeded for c in payments_adyen_standin.charges] == [False, True]


def test_network_error_then_retry_charges_exactly_once(
    payments_adyen_standin: AdyenStandIn,
) -> None:
    gateway = _gateway(payments_adyen_standin)
    request = _request("pm_card_network_error", "invoice:INV-9:attempt:1", invoice_id="INV-9")

    with pytest.raises(GatewayTransientError):
        gateway.charge(request)
    result = gateway.charge(request)

    assert result.status == "succeeded"
    [charge] = payments_adyen_standin.charges
    assert result.gateway_reference == charge.reference
    keys = [r.idempotency_key for r in payments_adyen_standin.requests]
    assert keys == ["invoice:INV-9:attempt:1", "invoice:INV-9:attempt:1"]


def test_key_longer_than_adyen_limit_is_sent_as_stable_digest(
    payments_adyen_standin: AdyenStandIn,
) -> None:
    key = "invoice:" + "X" * 100 + ":attempt:1"
    gateway = _gateway(payments_adyen_standin)

    first = gateway.charge(_request("pm_card_visa", key))
    again = gateway.charge(_request("pm_card_visa", key))

    assert first == again
    assert len(payments_adyen_standin.charges) == 1
    sent = {r.idempotency_key for r in payments_adyen_standin.requests}
    assert sent == {hashlib.sha256(key.encode()).hexdigest()}


def test_same_key_different_amount_is_invalid(payments_adyen_standin: AdyenStandIn) -> None:
    gateway = _gateway(payments_adyen_standin)
    gateway.charge(_request("pm_card_visa"))

    with pytest.raises(GatewayInvalidRequestError, match="different request body"):
        gateway.charge(_request("pm_card_visa", amount_minor=999))

    assert len(payments_adyen_standin.charges) == 1


def test_unknown_stored_method_is_invalid(payments_adyen_standin: AdyenStandIn) -> None:
    with pytest.raises(GatewayInvalidRequestError, match="Contract not found"):
        _gateway(payments_adyen_standin).charge(_request("pm_card_unknown"))

    assert payments_adyen_standin.charges == []


def test_wrong_api_key_is_invalid() -> None:
    with AdyenStandIn(port=0, api_key="right") as standin:
        with pytest.raises(GatewayInvalidRequestError, match="HTTP 401"):
            _gateway(standin, api_key="wrong").charge(_request("pm_card_visa"))
        assert standin.charges == []


def test_unreachable_gateway_is_transient() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    gateway = AdyenGateway("adyen_test_key", "O2CMerchant", "test", f"http://127.0.0.1:{port}")

    with pytest.raises(GatewayTransientError, match="no HTTP response"):
        gateway.charge(_request("pm_card_visa"))


@pytest.mark.parametrize(
    ("reason", "code"),
    [
        ("Refused", "generic_decline"),
        ("Not enough balance", "insufficient_funds"),
        ("Expired Card", "expired_card"),
        ("CVC Declined", "incorrect_cvc"),
        ("Something new", "generic_decline"),
        (None, "generic_decline"),
    ],
)
def test_refusal_reasons_are_normalised(reason: str | None, code: str) -> None:
    assert normalise_refusal(reason) == code


def test_live_environment_without_prefix_is_rejected_with_a_hint() -> None:
    with pytest.raises(ValueError, match="live_endpoint_prefix"):
        AdyenGateway("key", "O2CMerchant", "live", None)
