"""Loopback stand-in for SendGrid's ``POST /v3/mail/send``.

Answers 202 with ``X-Message-Id`` like SendGrid, validates the fields the real API insists
on (400 with SendGrid's error shape), checks the bearer key (401), and dedupes on the o2c
idempotency key (custom arg, e-mail header or HTTP header): a retried send delivers once.
"""

from __future__ import annotations

import json
import re
import secrets
from typing import Any

from notifications.port import IDEMPOTENCY_CUSTOM_ARG, IDEMPOTENCY_HEADER
from notifications.standins._http import LoopbackStandin, Reply

MAIL_SEND_PATH = "/v3/mail/send"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _errors(status: int, *messages: tuple[str, str | None]) -> Reply:
    return Reply(
        status,
        {"errors": [{"message": m, "field": f, "help": None} for m, f in messages]},
    )


class SendGridStandin(LoopbackStandin):
    def __init__(self, host: str = "127.0.0.1", port: int = 0, api_key: str | None = None):
        super().__init__(host, port)
        self._api_key = api_key  # None: accept any bearer key

    def parse_body(self, headers: dict[str, str], raw: bytes) -> Any:
        try:
            return json.loads(raw or b"null")
        except ValueError:
            return raw.decode("utf-8", "replace")

    def handle(self, method: str, path: str, headers: dict[str, str], raw: bytes) -> Reply:
        if path.split("?")[0] != MAIL_SEND_PATH or method != "POST":
            return _errors(404, (f"{method} {path} is not served by this stand-in", None))
        auth = headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or (
            self._api_key is not None and auth != f"Bearer {self._api_key}"
        ):
            return _errors(401, ("The provided authorization grant is invalid", None))
        body = self.parse_body(headers, raw)
        if not isinstance(body, dict):
            return _errors(400, ("Bad Request: body must be a JSON object", None))
        problems = _validate(body)
        if problems:
            return _errors(400, *problems)
        key = _idempotency_key(body, headers)
        recipients = _recipients(body)
        if self.fail_first_time(recipients, key or ",".join(recipients)):
            return _errors(503, ("Service Unavailable (stand-in transient-fail hook)", None))
        content = {c["type"]: c["value"] for c in body["content"]}
        message = {
            "message_id": secrets.token_urlsafe(16)[:22],
            "idempotency_key": key,
            "from": body["from"]["email"],
            "to": recipients,
            "subject": body.get("subject") or body["personalizations"][0].get("subject"),
            "text": content.get("text/plain"),
            "html": content.get("text/html"),
            "custom_args": body.get("custom_args", {}),
            "headers": body.get("headers", {}),
        }
        message_id = self.deliver(key, message["message_id"], message)
        return Reply(202, None, {"X-Message-Id": message_id})


def _recipients(body: dict[str, Any]) -> list[str]:
    return [to.get("email", "") for p in body["personalizations"] for to in p.get("to", [])]


def _idempotency_key(body: dict[str, Any], headers: dict[str, str]) -> str | None:
    candidates = [
        body.get("custom_args", {}).get(IDEMPOTENCY_CUSTOM_ARG),
        body.get("headers", {}).get(IDEMPOTENCY_HEADER),
        headers.get(IDEMPOTENCY_HEADER),
    ]
    return next((c for c in candidates if c), None)


def _validate(body: dict[str, Any]) -> list[tuple[str, str | None]]:
    problems: list[tuple[str, str | None]] = []
    if "@" not in str((body.get("from") or {}).get("email", "")):
        problems.append(("The from object must be provided for every email send.", "from"))
    personalizations = body.get("personalizations") or []
    if not personalizations:
        problems.append(("The personalizations field is required.", "personalizations"))
    for i, p in enumerate(personalizations):
        tos = p.get("to") or []
        if not tos:
            problems.append(("The to array is required.", f"personalizations.{i}.to"))
        for j, to in enumerate(tos):
            if not _EMAIL.match(str(to.get("email", ""))):
                problems.append(
                    ("Does not contain a valid address.", f"personalizations.{i}.to.{j}.email")
                )
        if not (body.get("subject") or p.get("subject")):
            problems.append(("The subject is required.", "subject"))
    content = body.get("content") or []
    if not content or not all(c.get("type") and c.get("value") for c in content):
        problems.append(("Unless a template_id is provided, content is required.", "content"))
    return problems
