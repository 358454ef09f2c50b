"""SQLite WAL checkpoints on a background thread, for the bulk ingest path.

In WAL mode every committed page is later copied from the WAL into the database file by a
checkpoint. By default the committing connection does it (every 10,000 pages), so the ingest
thread spends about a third of its SQLite time copying. While a `WalCheckpointer` runs, the
ingest connection turns its automatic checkpoints off and this thread checkpoints every
`interval_s` seconds instead, in PASSIVE mode (it never blocks a writer or a reader). SQLite
releases the GIL while it copies, so the copy runs on another core. If the thread is gone,
the ingest connection checkpoints by itself again (`active`).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from sqlalchemy import Engine

log = logging.getLogger(__name__)


class WalCheckpointer:
    def __init__(self, engine: Engine, interval_s: float = 0.25) -> None:
        self.engine = engine
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def active(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.active:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="o2c-wal-checkpoint", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop after a last checkpoint."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=60)
            self._thread = None

    def _run(self) -> None:
        connection: Any = self.engine.raw_connection()
        try:
            while not self._stop.wait(self.interval_s):
                self._checkpoint(connection)
            self._checkpoint(connection)
        finally:
            connection.close()

    def _checkpoint(self, connection: Any) -> None:
        try:
            self.checkpoint_once(connection)
        except Exception:  # a failed checkpoint is retried at the next interval
            log.warning("WAL checkpoint failed", exc_info=True)

    def checkpoint_once(self, connection: Any) -> None:
        connection.driver_connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
