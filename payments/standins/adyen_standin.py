"""A loopback stand-in for Adyen Checkout: just enough of ``POST /v{n}/payments``.

It speaks Adyen's wire protocol (JSON in and out, Adyen's error envelope
``{status, errorCode, message, errorType}``) so the real ``Adyen`` SDK runs unchanged:

- ``X-API-Key`` is required (401 otherwise; it must match ``api_key`` when given).
- ``Idempotency-Key`` (at most 64 characters, as on Adyen; longer keys get 400): the first
  response for a key is stored and replayed with the same status and body, echoing the key
  in an ``Idempotency-Key`` response header. The same key with a different body gets
  ``422`` (errorCode ``704``): the stand-in refuses a reused key rather than guess.
- Required: ``merchantAccount``, ``amount {value>0, currency}``, ``reference``,
  ``paymentMethod.storedPaymentMethodId`` (422 validation errors otherwise).
- Stored payment method tokens, the same names as the Stripe stand-in:

  * ``pm_card_visa`` (also ``pm_card_mastercard``, ``pm_card_amex``): ``Authorised``.
  * ``pm_card_chargeDeclined``: ``Refused``, refusalReason ``Refused`` (code 2).
  * ``pm_card_chargeDeclinedInsufficientFunds``: ``Refused``, refusalReason
    ``Not enough balance`` (code 12).
  * ``pm_card_fail_then_succeed``: the first payment seen for a ``reference`` (invoice) is
    ``Refused``; any later payment for it with a NEW idempotency key is ``Authorised``.
  * ``pm_card_network_error``: the first request with a given idempotency key is executed
    (charge recorded, ``Authorised`` stored for replay) but the connection is closed without
    a response; a retry with the same key gets the stored ``Authorised``.
  * anything else: 422 errorCode ``800`` "Contract not found" (nothing executed).

``.requests`` records every request; ``.charges`` every payment executed (refusals included,
see ``StandInCharge.succeeded``), at most one per idempotency key.
"""

from __future__ import annotations

import json
import re
from typing import Any

from payments.standins._server import LoopbackStandIn, RecordedRequest, Reply
from payments.standins.tokens import (
    DECLINE_INSUFFICIENT_FUNDS,
    TOKEN_BEHAVIOURS,
    ChargeBook,
    StandInCharge,
)

PAYMENTS_PATH = re.compile(r"^/v\d+/payments$")
MAX_IDEMPOTENCY_KEY_LENGTH = 64
_REFUSALS = {DECLINE_INSUFFICIENT_FUNDS: ("Not enough balance", "12")}
_GENERIC_REFUSAL = ("Refused", "2")


class AdyenStandIn(LoopbackStandIn):
    def __init__(self, host: str = "127.0.0.1", port: int = 0, api_key: str | None = None) -> None:
        super().__init__(host, port)
        self.api_key = api_key
        self._book = ChargeBook(reference_prefix="STANDIN")
        self._idempotent: dict[str, tuple[str, Reply]] = {}

    @property
    def charges(self) -> list[StandInCharge]:
        return self._book.charges

    def handle(self, request: RecordedRequest) -> Reply:
        api_key = request.header("X-API-Key")
        if not api_key or (self.api_key is not None and api_key != self.api_key):
            return _error(401, "000", "HTTP Status Response - Unauthorized", "security")
        if request.method != "POST" or not PAYMENTS_PATH.match(request.path.split("?")[0]):
            return _error(404, "000", f"Not found: {request.method} {request.path}", "validation")
        key = request.idempotency_key
        if key is not None and len(key) > MAX_IDEMPOTENCY_KEY_LENGTH:
            message = f"Idempotency-Key is longer than {MAX_IDEMPOTENCY_KEY_LENGTH} characters"
            return _error(400, "702", message, "validation")
        fingerprint = json.dumps([request.path, request.body], sort_keys=True)
        if key is not None and key in self._idempotent:
            return self._replay(key, fingerprint)
        invalid = _validate(request.body)
        if invalid is not None:
            return invalid
        reply = self._execute(request.body, key)
        if key is not None:
            self._idempotent[key] = (fingerprint, reply)
        return reply

    def _replay(self, key: str, fingerprint: str) -> Reply:
        stored_fingerprint, stored = self._idempotent[key]
        if stored_fingerprint != fingerprint:
            message = f"Idempotency-Key '{key}' was already used with a different request body"
            return _error(422, "704", message, "validation")
        return Reply(stored.status, stored.body, stored.headers)

    def _execute(self, body: dict[str, Any], key: str | None) -> Reply:
        amount = body["amount"]
        charge = self._book.execute(
            idempotency_key=key,
            invoice_id=str(body["reference"]),
            amount_minor=int(amount["value"]),
            currency=str(amount["currency"]),
            payment_method=str(body["paymentMethod"]["storedPaymentMethodId"]),
        )
        result: dict[str, Any] = {
            "pspReference": charge.reference,
            "merchantReference": charge.invoice_id,
            "amount": {"value": charge.amount_minor, "currency": charge.currency},
        }
        if charge.succeeded:
            result["resultCode"] = "Authorised"
        else:
            reason, code = _REFUSALS.get(charge.decline_code or "", _GENERIC_REFUSAL)
            result |= {"resultCode": "Refused", "refusalReason": reason, "refusalReasonCode": code}
        headers = {"pspReference": charge.reference}
        if key is not None:
            headers["Idempotency-Key"] = key
        return Reply(200, result, headers, drop_connection=charge.response_dropped)


def _validate(body: dict[str, Any]) -> Reply | None:
    if not body.get("merchantAccount"):
        return _error(422, "901", "Invalid Merchant Account", "validation")
    amount = body.get("amount")
    if not isinstance(amount, dict) or not isinstance(amount.get("value"), int):
        return _error(422, "100", "Required field 'amount' is not provided.", "validation")
    if amount["value"] <= 0 or not amount.get("currency"):
        return _error(422, "137", "Invalid amount specified", "validation")
    if not body.get("reference"):
        return _error(422, "130", "Required field 'reference' is not provided.", "validation")
    method = body.get("paymentMethod")
    token = method.get("storedPaymentMethodId") if isinstance(method, dict) else None
    if token not in TOKEN_BEHAVIOURS:
        return _error(422, "800", f"Contract not found: '{token}'", "validation")
    return None


def _error(status: int, code: str, message: str, error_type: str) -> Reply:
    body = {"status": status, "errorCode": code, "message": message, "errorType": error_type}
    return Reply(status, body)
