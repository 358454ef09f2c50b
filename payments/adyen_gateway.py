"""Adyen adapter: one Checkout ``/payments`` call per charge, on the official SDK.

A stored card is charged merchant-initiated (``ContAuth`` + ``UnscheduledCardOnFile``) and the
business idempotency key goes out as Adyen's ``Idempotency-Key`` header. Adyen caps keys at 64
characters; a longer business key is sent as its SHA-256 hex digest (64 characters, stable, so
retries still match).
"""

from __future__ import annotations

import hashlib
from typing import Any

import Adyen
import requests
from Adyen.exceptions import AdyenAPIResponseError, AdyenError

from payments.port import (
    ChargeRequest,
    ChargeResult,
    GatewayInvalidRequestError,
    GatewayTransientError,
)

MAX_IDEMPOTENCY_KEY_LENGTH = 64

# Adyen refusalReason (lower case) -> normalised decline code (Stripe's vocabulary).
DECLINE_CODES: dict[str, str] = {
    "refused": "generic_decline",
    "declined non generic": "generic_decline",
    "not enough balance": "insufficient_funds",
    "expired card": "expired_card",
    "cvc declined": "incorrect_cvc",
    "invalid card number": "incorrect_number",
    "invalid amount": "invalid_amount",
    "blocked card": "restricted_card",
    "restricted card": "restricted_card",
    "referral": "call_issuer",
    "issuer unavailable": "issuer_not_available",
    "acquirer error": "processing_error",
    "not supported": "card_not_supported",
    "transaction not permitted": "transaction_not_allowed",
    "3d not authenticated": "authentication_required",
    "fraud": "fraudulent",
    "fraud-cancelled": "fraudulent",
    "acquirer fraud": "fraudulent",
    "issuer suspected fraud": "fraudulent",
    "withdrawal amount exceeded": "card_velocity_exceeded",
    "withdrawal count exceeded": "withdrawal_count_limit_exceeded",
    "revocation of auth": "revocation_of_authorization",
    "pin tries exceeded": "pin_try_exceeded",
    "invalid pin": "incorrect_pin",
}
_NEEDS_SHOPPER = {"RedirectShopper", "IdentifyShopper", "ChallengeShopper", "PresentToShopper"}
_NOT_FINAL = {"Pending", "Received"}


class AdyenGateway:
    name = "adyen"

    def __init__(
        self,
        api_key: str,
        merchant_account: str,
        environment: str = "test",
        api_base: str | None = None,
        *,
        live_endpoint_prefix: str | None = None,
        timeout_seconds: int = 30,
    ) -> None:
        if environment not in ("test", "live"):
            raise ValueError(f"Adyen environment must be 'test' or 'live', not {environment!r}")
        if environment == "live" and not api_base and not live_endpoint_prefix:
            raise ValueError(
                "Adyen live environment needs live_endpoint_prefix (Customer Area > Developers "
                "> API URLs), e.g. '1797a841fbb37ca7-AdyenDemo'"
            )
        self.merchant_account = merchant_account
        self._adyen = Adyen.Adyen(
            xapikey=api_key,
            platform=environment,
            merchant_account=merchant_account,
            live_endpoint_prefix=live_endpoint_prefix,
            http_timeout=timeout_seconds,
            http_force="requests",
        )
        self._payments_api = self._adyen.checkout.payments_api
        if api_base:
            # The SDK builds URLs from the service's baseUrl ("https://checkout-test.adyen.com/v72");
            # keep its API version and swap the host for the configured base.
            version = self._payments_api.baseUrl.rstrip("/").rsplit("/", 1)[-1]
            self._payments_api.baseUrl = f"{api_base.rstrip('/')}/{version}"

    def charge(self, request: ChargeRequest) -> ChargeResult:
        if not request.customer_id:
            raise GatewayInvalidRequestError(
                f"Adyen needs a shopperReference to charge a stored card: invoice "
                f"{request.invoice_id} has an empty customer_id"
            )
        try:
            result = self._payments_api.payments(
                self._payment_body(request), idempotency_key=adyen_idempotency_key(request)
            )
        except requests.RequestException as exc:
            raise GatewayTransientError(_describe(exc, request)) from exc
        except AdyenAPIResponseError as exc:
            status = int(exc.status_code or 0)
            transient = status >= 500 or status in (408, 429)
            error = GatewayTransientError if transient else GatewayInvalidRequestError
            raise error(_describe(exc, request)) from exc
        except AdyenError as exc:
            raise GatewayInvalidRequestError(_describe(exc, request)) from exc
        return _result_from_response(result.message or {}, request)

    def _payment_body(self, request: ChargeRequest) -> dict[str, Any]:
        return {
            "merchantAccount": self.merchant_account,
            "amount": {"value": request.amount_minor, "currency": request.currency},
            "reference": request.invoice_id,
            "paymentMethod": {
                "type": "scheme",
                "storedPaymentMethodId": request.payment_method_token,
            },
            "shopperReference": request.customer_id,
            "shopperInteraction": "ContAuth",
            "recurringProcessingModel": "UnscheduledCardOnFile",
            # Adyen metadata values are capped at 80 characters.
            "metadata": {
                "invoice_id": request.invoice_id[:80],
                "description": request.description[:80],
            },
        }


def adyen_idempotency_key(request: ChargeRequest) -> str:
    """The business key when it fits Adyen's 64 characters, else its SHA-256 hex digest."""
    key = request.idempotency_key
    if len(key) <= MAX_IDEMPOTENCY_KEY_LENGTH:
        return key
    return hashlib.sha256(key.encode()).hexdigest()


def normalise_refusal(reason: str | None) -> str:
    return DECLINE_CODES.get((reason or "").strip().lower(), "generic_decline")


def _result_from_response(message: dict[str, Any], request: ChargeRequest) -> ChargeResult:
    code = message.get("resultCode")
    reference = message.get("pspReference")
    if code == "Authorised":
        text = f"Adyen payment {reference} authorised"
        return ChargeResult(
            status="succeeded", gateway="adyen", gateway_reference=reference, message=text
        )
    if code == "Refused":
        reason = message.get("refusalReason") or "Refused"
        return _declined(reference, normalise_refusal(reason), reason)
    if code == "Cancelled":
        return _declined(reference, "generic_decline", "payment cancelled")
    if code == "Error":
        return _declined(reference, "processing_error", message.get("refusalReason") or "error")
    if code in _NEEDS_SHOPPER:
        text = f"{code}: the card needs the shopper, which an off-session charge cannot do"
        return _declined(reference, "authentication_required", text)
    if code in _NOT_FINAL:
        raise GatewayTransientError(
            f"Adyen payment {reference} for invoice {request.invoice_id} is {code}: its outcome "
            "is not final yet; retry with the same idempotency key"
        )
    raise GatewayInvalidRequestError(
        f"Adyen answered resultCode {code!r} for invoice {request.invoice_id}; expected "
        "Authorised or Refused for an off-session card payment"
    )


def _declined(reference: str | None, decline_code: str, message: str) -> ChargeResult:
    return ChargeResult(
        status="declined",
        gateway="adyen",
        gateway_reference=reference,
        decline_code=decline_code,
        message=message,
    )


def _describe(exc: Exception, request: ChargeRequest) -> str:
    detail = getattr(exc, "message", None) or str(exc)
    status = getattr(exc, "status_code", None)
    where = f"HTTP {status}" if status else "no HTTP response"
    return (
        f"Adyen {type(exc).__name__} ({where}) charging invoice {request.invoice_id} "
        f"with idempotency key {request.idempotency_key!r}: {detail}"
    )
