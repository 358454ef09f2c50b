"""Test payment-method tokens shared by the Stripe and Adyen stand-ins, and their charge book.

| token                                     | outcome                                            |
|-------------------------------------------|----------------------------------------------------|
| ``pm_card_visa`` (also ``pm_card_mastercard``, ``pm_card_amex``) | succeeds            |
| ``pm_card_chargeDeclined``                | declined, ``generic_decline``                      |
| ``pm_card_chargeDeclinedInsufficientFunds`` | declined, ``insufficient_funds``                 |
| ``pm_card_fail_then_succeed``             | the first charge for an invoice is declined        |
|                                           | (``generic_decline``); any later charge for the    |
|                                           | same invoice (a NEW idempotency key) succeeds      |
| ``pm_card_network_error``                 | succeeds, but the first response for an            |
|                                           | idempotency key is dropped (connection closed      |
|                                           | without an answer); a retry with the same key      |
|                                           | replays the stored success: one charge, not two    |

Any other token is unknown to the stand-ins and rejected as an invalid request.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

SUCCEED = "succeed"
DECLINE_GENERIC = "generic_decline"
DECLINE_INSUFFICIENT_FUNDS = "insufficient_funds"
FAIL_THEN_SUCCEED = "fail_then_succeed"
NETWORK_ERROR = "network_error"

TOKEN_BEHAVIOURS: dict[str, str] = {
    "pm_card_visa": SUCCEED,
    "pm_card_mastercard": SUCCEED,
    "pm_card_amex": SUCCEED,
    "pm_card_chargeDeclined": DECLINE_GENERIC,
    "pm_card_chargeDeclinedInsufficientFunds": DECLINE_INSUFFICIENT_FUNDS,
    "pm_card_fail_then_succeed": FAIL_THEN_SUCCEED,
    "pm_card_network_error": NETWORK_ERROR,
}


@dataclass(frozen=True)
class StandInCharge:
    """A charge the stand-in actually executed (at most one per idempotency key)."""

    reference: str
    idempotency_key: str | None
    invoice_id: str
    amount_minor: int
    currency: str
    payment_method: str
    succeeded: bool
    decline_code: str | None
    response_dropped: bool


class ChargeBook:
    """Decides each token's outcome and records executed charges (callers hold a lock)."""

    def __init__(self, reference_prefix: str) -> None:
        self.charges: list[StandInCharge] = []
        self._prefix = reference_prefix
        self._counter = itertools.count(1)
        self._invoices_seen: set[str] = set()

    @staticmethod
    def knows(token: str) -> bool:
        return token in TOKEN_BEHAVIOURS

    def execute(
        self,
        *,
        idempotency_key: str | None,
        invoice_id: str,
        amount_minor: int,
        currency: str,
        payment_method: str,
    ) -> StandInCharge:
        behaviour = TOKEN_BEHAVIOURS[payment_method]
        decline_code = self._decline_code(behaviour, invoice_id)
        self._invoices_seen.add(invoice_id)
        charge = StandInCharge(
            reference=f"{self._prefix}{next(self._counter):012d}",
            idempotency_key=idempotency_key,
            invoice_id=invoice_id,
            amount_minor=amount_minor,
            currency=currency,
            payment_method=payment_method,
            succeeded=decline_code is None,
            decline_code=decline_code,
            response_dropped=behaviour == NETWORK_ERROR,
        )
        self.charges.append(charge)
        return charge

    def _decline_code(self, behaviour: str, invoice_id: str) -> str | None:
        if behaviour in (DECLINE_GENERIC, DECLINE_INSUFFICIENT_FUNDS):
            return behaviour
        if behaviour == FAIL_THEN_SUCCEED and invoice_id not in self._invoices_seen:
            return DECLINE_GENERIC
        return None
