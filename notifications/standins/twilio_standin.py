"""Loopback stand-in for Twilio's ``POST /2010-04-01/Accounts/{sid}/Messages.json``.

Form-encoded body, HTTP basic auth with the account SID (401, code 20003), Twilio's error
shape for missing or invalid fields (400, codes 21602/21603/21604/21211), 201 with a message
resource (``SM...`` sid). Dedupes on the o2c idempotency header: a retried send delivers once.
"""

from __future__ import annotations

import base64
import re
import secrets
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import parse_qs

from notifications.port import IDEMPOTENCY_HEADER
from notifications.standins._http import TRANSIENT_FAIL_MARKER, LoopbackStandin, Reply

_MESSAGES_PATH = re.compile(r"^/2010-04-01/Accounts/(?P<sid>AC[0-9A-Za-z]+)/Messages\.json$")
_PHONE = re.compile(r"^\+?[0-9]{6,15}$")


def _error(status: int, code: int, message: str) -> Reply:
    return Reply(
        status,
        {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        },
    )


class TwilioStandin(LoopbackStandin):
    def __init__(self, host: str = "127.0.0.1", port: int = 0, auth_token: str | None = None):
        super().__init__(host, port)
        self._auth_token = auth_token  # None: accept any token for the path's account

    def parse_body(self, headers: dict[str, str], raw: bytes) -> Any:
        form = parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True)
        return {k: v[0] if len(v) == 1 else v for k, v in form.items()}

    def handle(self, method: str, path: str, headers: dict[str, str], raw: bytes) -> Reply:
        match = _MESSAGES_PATH.match(path.split("?")[0])
        if match is None or method != "POST":
            return _error(404, 20404, f"The requested resource {path} was not found")
        account_sid = match["sid"]
        if not self._authorised(headers.get("Authorization", ""), account_sid):
            return _error(401, 20003, "Authenticate")
        form = self.parse_body(headers, raw)
        to, from_, body = form.get("To", ""), form.get("From", ""), form.get("Body", "")
        if not to:
            return _error(400, 21604, "A 'To' phone number is required.")
        if not _PHONE.match(to.replace(TRANSIENT_FAIL_MARKER, "")):
            return _error(400, 21211, f"Invalid 'To' Phone Number: {to}")
        if not from_:
            return _error(400, 21603, "A 'From' phone number is required.")
        if not body:
            return _error(400, 21602, "Message body is required.")
        key = headers.get(IDEMPOTENCY_HEADER)
        if self.fail_first_time([to], key or to):
            return _error(503, 20503, "Service Unavailable (stand-in transient-fail hook)")
        message = _resource(account_sid, to, from_, body, key)
        message["sid"] = self.deliver(key, message["sid"], message)
        return Reply(201, message)

    def _authorised(self, header: str, account_sid: str) -> bool:
        if not header.startswith("Basic "):
            return False
        try:
            user, _, token = base64.b64decode(header[6:]).decode("utf-8").partition(":")
        except ValueError:
            return False
        return user == account_sid and bool(token) and self._auth_token in (None, token)


def _resource(account_sid: str, to: str, from_: str, body: str, key: str | None) -> dict[str, Any]:
    sid = "SM" + secrets.token_hex(16)
    now = format_datetime(datetime.now(UTC), usegmt=True)
    return {
        "sid": sid,
        "account_sid": account_sid,
        "api_version": "2010-04-01",
        "to": to,
        "from": from_,
        "body": body,
        "status": "queued",
        "direction": "outbound-api",
        "num_segments": str(max(1, -(-len(body) // 160))),
        "num_media": "0",
        "date_created": now,
        "date_updated": now,
        "date_sent": None,
        "price": None,
        "price_unit": "USD",
        "error_code": None,
        "error_message": None,
        "messaging_service_sid": None,
        "uri": f"/2010-04-01/Accounts/{account_sid}/Messages/{sid}.json",
        "subresource_uris": {},
        "idempotency_key": key,
    }
