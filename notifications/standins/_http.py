"""The base of the notification provider stand-ins, on the shared loopback server.

Each stand-in subclasses ``LoopbackStandin`` and implements ``handle`` (and ``parse_body`` for
what the request log shows). On top of the request log it keeps the delivered messages,
dedupes deliveries on an idempotency key and fails a marked recipient once (``fail_first_time``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from standins.loopback import Incoming, LoopbackServer, Reply

__all__ = ["TRANSIENT_FAIL_MARKER", "LoopbackStandin", "RecordedRequest", "Reply"]

TRANSIENT_FAIL_MARKER = "transient-fail"
"""A recipient containing this gets one 503 per idempotency key: proves the retry path."""


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    status: int


class LoopbackStandin(LoopbackServer[RecordedRequest]):
    """Owns the delivered messages; records each request with the status it was answered."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host, port)
        self._messages: list[dict[str, Any]] = []
        self._delivered: dict[str, str] = {}  # idempotency key -> message id
        self._failed_once: set[str] = set()

    # --- observations -------------------------------------------------------------------
    @property
    def messages(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._messages)

    def clear(self) -> None:
        with self._lock:
            self._requests.clear()
            self._messages.clear()
            self._delivered.clear()
            self._failed_once.clear()

    # --- for subclasses -----------------------------------------------------------------
    def handle(self, method: str, path: str, headers: dict[str, str], raw: bytes) -> Reply:
        raise NotImplementedError

    def parse_body(self, headers: dict[str, str], raw: bytes) -> Any:
        return raw.decode("utf-8", "replace")

    def fail_first_time(self, recipients: list[str], failure_key: str) -> bool:
        """True (once per key) when a recipient carries the transient-fail marker."""
        if not any(TRANSIENT_FAIL_MARKER in r for r in recipients):
            return False
        with self._lock:
            if failure_key in self._failed_once:
                return False
            self._failed_once.add(failure_key)
            return True

    def deliver(self, key: str | None, message_id: str, message: dict[str, Any]) -> str:
        """Record a delivery; a key seen before returns the first message id instead."""
        with self._lock:
            if key is not None and key in self._delivered:
                return self._delivered[key]
            if key is not None:
                self._delivered[key] = message_id
            self._messages.append(message)
            return message_id

    # --- plumbing -----------------------------------------------------------------------
    def answer(self, incoming: Incoming) -> Reply:
        method, path, headers, raw = incoming.method, incoming.path, incoming.headers, incoming.raw
        try:
            reply = self.handle(method, path, headers, raw)
        except Exception as exc:  # a stand-in bug must not hang the client
            reply = Reply(500, {"errors": [{"message": f"stand-in error: {exc}"}]})
        body = self.parse_body(headers, raw)
        self.record(RecordedRequest(method, path, headers, body, reply.status))
        return reply
