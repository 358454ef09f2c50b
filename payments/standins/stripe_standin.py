"""A loopback stand-in for the Stripe API: just enough of ``POST /v1/payment_intents``.

It speaks Stripe's wire protocol (form-encoded requests, JSON responses, Stripe's error
envelope) so the real ``stripe`` SDK runs unchanged against it:

- ``Authorization: Bearer <key>`` is required (401 otherwise; the key must match
  ``api_key`` when the stand-in was given one).
- ``Idempotency-Key``: the first executed response for a key (success or card error) is
  stored and replayed with the same status and body (header ``Idempotent-Replayed: true``);
  the same key with different parameters or path gets ``400 idempotency_error``. As on
  Stripe, a request that fails validation executes nothing and stores nothing.
- Payment-method tokens (``payment_method``), the same names as the Adyen stand-in:

  * ``pm_card_visa`` (also ``pm_card_mastercard``, ``pm_card_amex``): PaymentIntent
    ``succeeded``.
  * ``pm_card_chargeDeclined``: ``402 card_error``, ``code=card_declined``,
    ``decline_code=generic_decline``.
  * ``pm_card_chargeDeclinedInsufficientFunds``: ``402 card_error``,
    ``decline_code=insufficient_funds``.
  * ``pm_card_fail_then_succeed``: the first charge seen for an invoice
    (``metadata[invoice_id]``) is declined ``generic_decline``; any later charge for that
    invoice with a NEW idempotency key succeeds.
  * ``pm_card_network_error``: the first request with a given idempotency key is executed
    (charge recorded, success stored for replay) but the connection is closed without a
    response; a retry with the same key gets the stored success. One charge, never two.
  * anything else: ``400 invalid_request_error`` ``resource_missing`` (nothing executed).

``.requests`` records every request; ``.charges`` every charge executed (declines included,
see ``StandInCharge.succeeded``), at most one per idempotency key.
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import parse_qsl

from payments.standins._server import LoopbackStandIn, RecordedRequest, Reply
from payments.standins.tokens import TOKEN_BEHAVIOURS, ChargeBook, StandInCharge

PAYMENT_INTENTS_PATH = "/v1/payment_intents"


class StripeStandIn(LoopbackStandIn):
    def __init__(self, host: str = "127.0.0.1", port: int = 0, api_key: str | None = None) -> None:
        super().__init__(host, port)
        self.api_key = api_key
        self._book = ChargeBook(reference_prefix="pi_standin")
        self._idempotent: dict[str, tuple[str, Reply]] = {}
        self._request_ids = 0

    @property
    def charges(self) -> list[StandInCharge]:
        return self._book.charges

    def parse_body(self, raw: bytes, content_type: str) -> dict[str, Any]:
        if "json" in content_type:
            return super().parse_body(raw, content_type)
        return parse_stripe_form(raw.decode("utf-8"))

    def handle(self, request: RecordedRequest) -> Reply:
        self._request_ids += 1
        request_id = {"Request-Id": f"req_standin{self._request_ids:08d}"}
        auth_error = self._check_auth(request)
        if auth_error is not None:
            return _with_headers(auth_error, request_id)
        if (request.method, request.path.split("?")[0]) != ("POST", PAYMENT_INTENTS_PATH):
            message = f"Unrecognized request URL ({request.method}: {request.path})."
            return _with_headers(_error(404, "invalid_request_error", message), request_id)
        key = request.idempotency_key
        fingerprint = json.dumps([request.path, request.body], sort_keys=True)
        if key is not None and key in self._idempotent:
            return _with_headers(self._replay(key, fingerprint), request_id)
        invalid = _validate(request.body)
        if invalid is not None:
            return _with_headers(invalid, request_id)
        reply = self._execute(request.body, key)
        if key is not None:
            self._idempotent[key] = (fingerprint, reply)
        return _with_headers(reply, request_id)

    def _check_auth(self, request: RecordedRequest) -> Reply | None:
        auth = request.header("Authorization") or ""
        token = auth.removeprefix("Bearer ").strip() if auth.startswith("Bearer ") else ""
        if not token:
            message = "You did not provide an API key. Send it as 'Authorization: Bearer <key>'."
            return _error(401, "invalid_request_error", message)
        if self.api_key is not None and token != self.api_key:
            return _error(401, "invalid_request_error", "Invalid API Key provided.")
        return None

    def _replay(self, key: str, fingerprint: str) -> Reply:
        stored_fingerprint, stored = self._idempotent[key]
        if stored_fingerprint != fingerprint:
            message = (
                "Keys for idempotent requests can only be used with the same parameters they "
                f"were first used with. Try using a key other than '{key}' if you meant to "
                "execute a different request."
            )
            return _error(400, "idempotency_error", message)
        headers = {**stored.headers, "Idempotent-Replayed": "true"}
        return Reply(stored.status, stored.body, headers)

    def _execute(self, body: dict[str, Any], key: str | None) -> Reply:
        metadata = body.get("metadata") if isinstance(body.get("metadata"), dict) else {}
        charge = self._book.execute(
            idempotency_key=key,
            invoice_id=str((metadata or {}).get("invoice_id", "")),
            amount_minor=int(body["amount"]),
            currency=str(body["currency"]),
            payment_method=str(body["payment_method"]),
        )
        intent = _payment_intent(body, charge)
        if charge.succeeded:
            return Reply(200, intent, drop_connection=charge.response_dropped)
        error = {
            "type": "card_error",
            "code": "card_declined",
            "decline_code": charge.decline_code,
            "message": "Your card was declined.",
            "charge": f"ch_{charge.reference.removeprefix('pi_')}",
            "payment_intent": intent,
            "doc_url": "https://stripe.com/docs/error-codes/card-declined",
        }
        return Reply(402, {"error": error})


def _validate(body: dict[str, Any]) -> Reply | None:
    for name in ("amount", "currency", "payment_method"):
        if not body.get(name):
            return _error(400, "invalid_request_error", f"Missing required param: {name}.", name)
    amount = str(body["amount"])
    if not amount.isdigit() or int(amount) <= 0:
        message = "This value must be greater than or equal to 1."
        return _error(400, "invalid_request_error", message, "amount")
    token = str(body["payment_method"])
    if token not in TOKEN_BEHAVIOURS:
        known = ", ".join(sorted(TOKEN_BEHAVIOURS))
        message = f"No such PaymentMethod: '{token}'. The stand-in knows: {known}."
        return _error(400, "invalid_request_error", message, "payment_method", "resource_missing")
    return None


def _payment_intent(body: dict[str, Any], charge: StandInCharge) -> dict[str, Any]:
    succeeded = charge.succeeded
    return {
        "id": charge.reference,
        "object": "payment_intent",
        "amount": charge.amount_minor,
        "amount_received": charge.amount_minor if succeeded else 0,
        "currency": charge.currency,
        "customer": body.get("customer"),
        "description": body.get("description"),
        "metadata": body.get("metadata") or {},
        "payment_method": charge.payment_method,
        "status": "succeeded" if succeeded else "requires_payment_method",
        "latest_charge": f"ch_{charge.reference.removeprefix('pi_')}",
        "last_payment_error": None if succeeded else {"decline_code": charge.decline_code},
        "created": int(time.time()),
        "livemode": False,
    }


def _error(
    status: int, type_: str, message: str, param: str | None = None, code: str | None = None
) -> Reply:
    error: dict[str, Any] = {"type": type_, "message": message}
    if param is not None:
        error["param"] = param
    if code is not None:
        error["code"] = code
    return Reply(status, {"error": error})


def _with_headers(reply: Reply, headers: dict[str, str]) -> Reply:
    merged = {**headers, **reply.headers}
    return Reply(reply.status, reply.body, merged, reply.drop_connection)


def parse_stripe_form(text: str) -> dict[str, Any]:
    """Decode Stripe's bracket form encoding (``metadata[invoice_id]=INV-1``) into dicts."""
    result: dict[str, Any] = {}
    for name, value in parse_qsl(text, keep_blank_values=True):
        head, _, rest = name.partition("[")
        path = [head, *(part.rstrip("]") for part in rest.split("[") if rest)]
        node = result
        for part in path[:-1]:
            child = node.setdefault(part, {})
            node = child if isinstance(child, dict) else {}
        node[path[-1]] = value
    return result
