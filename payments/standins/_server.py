"""The base of the payment gateway stand-ins, on the shared loopback server.

Each stand-in subclasses ``LoopbackStandIn`` and implements ``handle``: it receives a parsed
``RecordedRequest`` and returns a ``Reply``. Requests are recorded and handled one at a time.
A reply may ask to drop the connection without answering (``Reply.drop_connection``), which is
how a stand-in simulates a network failure after the work was done.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any

from standins.loopback import Incoming, LoopbackServer, Reply

__all__ = ["LoopbackStandIn", "RecordedRequest", "Reply"]


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    idempotency_key: str | None
    body: dict[str, Any]
    headers: dict[str, str]  # lower-cased names

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


class LoopbackStandIn(LoopbackServer[RecordedRequest]):
    """Parses each request into a ``RecordedRequest``, records it and answers with ``handle``."""

    protocol_version = "HTTP/1.1"

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host, port)
        self._one_at_a_time = threading.Lock()

    # -- to implement -----------------------------------------------------------------------
    def parse_body(self, raw: bytes, content_type: str) -> dict[str, Any]:
        if not raw:
            return {}
        parsed = json.loads(raw)
        return parsed if isinstance(parsed, dict) else {"_": parsed}

    def handle(self, request: RecordedRequest) -> Reply:
        raise NotImplementedError

    # -- plumbing ---------------------------------------------------------------------------
    def answer(self, incoming: Incoming) -> Reply:
        headers = {name.lower(): value for name, value in incoming.headers.items()}
        try:
            body = self.parse_body(incoming.raw, headers.get("content-type", ""))
        except ValueError:
            body = {"_unparsed": incoming.raw.decode("utf-8", "replace")}
        request = RecordedRequest(
            method=incoming.method,
            path=incoming.path,
            idempotency_key=headers.get("idempotency-key"),
            body=body,
            headers=headers,
        )
        with self._one_at_a_time:
            self.record(request)
            return self.handle(request)
