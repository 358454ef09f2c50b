"""Stripe adapter: one off-session PaymentIntent per charge, on the official SDK.

The SDK never retries (``max_network_retries=0``): Temporal owns retries, and every retry
sends the same business idempotency key, so Stripe replays the first result.
"""

from __future__ import annotations

from typing import Any

import stripe

from payments.port import (
    ChargeRequest,
    ChargeResult,
    GatewayInvalidRequestError,
    GatewayTransientError,
)

_INVALID = (
    stripe.InvalidRequestError,
    stripe.IdempotencyError,
    stripe.AuthenticationError,
    stripe.PermissionError,
)
_TRANSIENT = (stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError)


class StripeGateway:
    name = "stripe"

    def __init__(
        self, api_key: str, api_base: str | None = None, *, timeout_seconds: float = 30.0
    ) -> None:
        base_addresses: Any = {"api": api_base.rstrip("/")} if api_base else None
        self._client = stripe.StripeClient(
            api_key,
            base_addresses=base_addresses,
            max_network_retries=0,
            http_client=stripe.RequestsClient(timeout=timeout_seconds),
        )

    def charge(self, request: ChargeRequest) -> ChargeResult:
        try:
            intent = self._client.v1.payment_intents.create(
                params=_intent_params(request),
                options={"idempotency_key": request.idempotency_key},
            )
        except stripe.CardError as exc:
            return _declined_from_card_error(exc)
        except _INVALID as exc:
            raise GatewayInvalidRequestError(_describe(exc, request)) from exc
        except _TRANSIENT as exc:
            raise GatewayTransientError(_describe(exc, request)) from exc
        except stripe.StripeError as exc:
            status = exc.http_status or 0
            error = GatewayTransientError if status >= 500 else GatewayInvalidRequestError
            raise error(_describe(exc, request)) from exc
        return _result_from_intent(intent, request)


def _intent_params(request: ChargeRequest) -> Any:
    params: dict[str, Any] = {
        "amount": request.amount_minor,
        "currency": request.currency.lower(),
        "payment_method": request.payment_method_token,
        "confirm": True,
        "off_session": True,
        # Off-session charges cannot follow redirects; without this Stripe asks for return_url.
        "automatic_payment_methods": {"enabled": True, "allow_redirects": "never"},
        "metadata": {"invoice_id": request.invoice_id},
        "description": request.description,
    }
    if request.customer_id:
        params["customer"] = request.customer_id
    return params


def _result_from_intent(intent: Any, request: ChargeRequest) -> ChargeResult:
    status = intent.status
    if status == "succeeded":
        return ChargeResult(
            status="succeeded",
            gateway="stripe",
            gateway_reference=intent.id,
            message=f"PaymentIntent {intent.id} succeeded",
        )
    if status == "requires_payment_method":
        error = intent.get("last_payment_error") or {}
        code = error.get("decline_code") or error.get("code") or "generic_decline"
        return _declined(intent.id, code, error.get("message") or "payment method declined")
    if status in ("requires_action", "requires_confirmation"):
        message = "the card needs customer authentication, which an off-session charge cannot do"
        return _declined(intent.id, "authentication_required", message)
    if status == "processing":
        raise GatewayTransientError(
            f"Stripe PaymentIntent {intent.id} for invoice {request.invoice_id} is still "
            "processing; retry with the same idempotency key to read its outcome"
        )
    raise GatewayInvalidRequestError(
        f"Stripe PaymentIntent {intent.id} for invoice {request.invoice_id} ended in "
        f"unexpected status {status!r}; check the PaymentIntent in the Stripe dashboard"
    )


def _declined_from_card_error(exc: stripe.CardError) -> ChargeResult:
    error = exc.error
    decline_code = getattr(error, "decline_code", None) if error is not None else None
    if not decline_code:
        decline_code = exc.code if exc.code and exc.code != "card_declined" else "generic_decline"
    intent = getattr(error, "payment_intent", None) if error is not None else None
    reference = getattr(intent, "id", None) if intent is not None else None
    return _declined(reference, decline_code, exc.user_message or "card declined")


def _declined(reference: str | None, decline_code: str, message: str) -> ChargeResult:
    return ChargeResult(
        status="declined",
        gateway="stripe",
        gateway_reference=reference,
        decline_code=decline_code,
        message=message,
    )


def _describe(exc: stripe.StripeError, request: ChargeRequest) -> str:
    status = f"HTTP {exc.http_status}" if exc.http_status else "no HTTP response"
    return (
        f"Stripe {type(exc).__name__} ({status}) charging invoice {request.invoice_id} "
        f"with idempotency key {request.idempotency_key!r}: {exc.user_message or exc}"
    )
