"""A notifier that writes notices to files: the embedded default and the demo's inbox.

``<directory>/<channel>/<safe key>.json`` (plus ``.html`` for e-mail with HTML). The JSON is
written last and atomically, and never replaced: the same idempotency key writes once and
returns the same message id, even when two workers race.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
from pathlib import Path

from notifications.port import Notice, SendResult

PROVIDER = "outbox"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_key(idempotency_key: str) -> str:
    """A file-name-safe, collision-free form of the key: ``dunning_INV-1_step_2.1a2b3c4d``."""
    readable = _UNSAFE.sub("_", idempotency_key).strip("._")[:150] or "notice"
    digest = hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()[:8]
    return f"{readable}.{digest}"


class OutboxNotifier:
    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def path_for(self, notice: Notice) -> Path:
        return self.directory / notice.channel / f"{safe_key(notice.idempotency_key)}.json"

    def send(self, notice: Notice) -> SendResult:
        path = self.path_for(notice)
        if path.exists():
            return _result(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        message_id = "outbox-" + hashlib.sha256(notice.idempotency_key.encode()).hexdigest()[:24]
        if notice.channel == "email" and notice.html is not None:
            _write_atomically(path.with_suffix(".html"), notice.html, replace=True)
        record = {"provider_message_id": message_id, **notice.model_dump(mode="json")}
        _write_atomically(path, json.dumps(record, indent=2, ensure_ascii=False), replace=False)
        return _result(path)


def _result(path: Path) -> SendResult:
    record = json.loads(path.read_text(encoding="utf-8"))
    return SendResult(provider=PROVIDER, provider_message_id=record["provider_message_id"])


def _write_atomically(path: Path, content: str, *, replace: bool) -> None:
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(content)
        if replace:
            os.replace(tmp_name, path)
            return
        with contextlib.suppress(FileExistsError):  # first writer wins
            os.link(tmp_name, path)
    finally:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
