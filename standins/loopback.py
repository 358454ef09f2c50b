"""A loopback HTTP server that the provider stand-ins build on (stdlib only).

A stand-in family subclasses ``LoopbackServer`` and implements ``answer``: it receives each
request as an ``Incoming`` (headers as sent, body still raw), records what it wants in the
request log (``record``) and returns a ``Reply``. A reply may ask to drop the connection
without answering, which is how a stand-in simulates a network failure after the work was done.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Generic, Self, TypeVar

RecordT = TypeVar("RecordT")


@dataclass(frozen=True)
class Incoming:
    """A request as read off the wire, before a stand-in makes sense of it."""

    method: str
    path: str
    headers: dict[str, str]  # names as the client sent them
    raw: bytes


@dataclass(frozen=True)
class Reply:
    """A stand-in's answer: the body is sent as JSON, or empty when it is None."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    drop_connection: bool = False  # the work is done, but the client never gets an answer


class LoopbackServer(Generic[RecordT]):
    """Runs ``answer`` behind a ThreadingHTTPServer in a daemon thread; keeps the request log."""

    protocol_version = "HTTP/1.0"  # what the server speaks; HTTP/1.1 keeps connections open

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port  # 0 picks a free port; the one bound is known after start()
        self._lock = threading.Lock()
        self._requests: list[RecordT] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle --------------------------------------------------------------------------
    def start(self) -> Self:
        if self._server is not None:
            return self
        server = ThreadingHTTPServer((self.host, self.port), _handler_for(self))
        server.daemon_threads = True
        self._server = server
        self.port = server.server_address[1]
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"{type(self).__name__}:{self.port}",
            daemon=True,
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

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError(f"{type(self).__name__} is not started: call start() first")
        return f"http://{self.host}:{self.port}"

    # -- request log ------------------------------------------------------------------------
    @property
    def requests(self) -> list[RecordT]:
        """A snapshot of the request log, oldest first."""
        with self._lock:
            return list(self._requests)

    def record(self, request: RecordT) -> None:
        with self._lock:
            self._requests.append(request)

    # -- to implement -----------------------------------------------------------------------
    def answer(self, incoming: Incoming) -> Reply:
        raise NotImplementedError


def _handler_for(server: LoopbackServer[Any]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = server.protocol_version

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            headers = dict(self.headers.items())
            reply = server.answer(Incoming(self.command, self.path, headers, raw))
            if reply.drop_connection:
                self._drop()
            else:
                self._write(reply)

        do_GET = do_POST = do_PUT = do_DELETE = _serve

        def _write(self, reply: Reply) -> None:
            payload = b"" if reply.body is None else json.dumps(reply.body).encode("utf-8")
            self.send_response(reply.status)
            if reply.body is not None:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        def _drop(self) -> None:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler
