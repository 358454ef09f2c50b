"""A tiny loopback HTTP server base for the provider stand-ins (stdlib only)."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

TRANSIENT_FAIL_MARKER = "transient-fail"
"""A recipient containing this gets one 503 per idempotency key: proves the retry path."""


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    status: int


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any = None  # JSON-serialisable, or None for an empty body
    headers: dict[str, str] = field(default_factory=dict)


class LoopbackStandin:
    """Owns the server thread, the request log and the delivered messages."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._host = host
        self._port = port
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._messages: list[dict[str, Any]] = []
        self._delivered: dict[str, str] = {}  # idempotency key -> message id
        self._failed_once: set[str] = set()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ----------------------------------------------------------------------
    def start(self) -> Self:
        if self._server is not None:
            return self
        server = ThreadingHTTPServer((self._host, self._port), _handler_for(self))
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, args=(0.05,), name=type(self).__name__, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError(f"{type(self).__name__} is not started; call start() first")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    # --- observations -------------------------------------------------------------------
    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

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

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)


def _handler_for(standin: LoopbackStandin) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            headers = {k: v for k, v in self.headers.items()}
            try:
                reply = standin.handle(self.command, self.path, headers, raw)
            except Exception as exc:  # a stand-in bug must not hang the client
                reply = Reply(500, {"errors": [{"message": f"stand-in error: {exc}"}]})
            body = standin.parse_body(headers, raw)
            standin._record(RecordedRequest(self.command, self.path, headers, body, reply.status))
            payload = b"" if reply.body is None else json.dumps(reply.body).encode("utf-8")
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            if reply.body is not None:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:
            return None

    return Handler
