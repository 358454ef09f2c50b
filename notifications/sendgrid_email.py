"""E-mail through SendGrid's v3 Mail Send API, on the official ``sendgrid`` SDK.

The idempotency key travels in the message body as a custom arg and an e-mail header (the SDK
shares one mutable HTTP header dict per client, so per-call HTTP headers would race between
activity threads). SendGrid echoes custom args in its event webhook; the local stand-in
dedupes on them. The real API does not dedupe: the database's unique notice key does that.
"""

from __future__ import annotations

import http.client
from typing import Any

from python_http_client.exceptions import HTTPError
from sendgrid import SendGridAPIClient
from sendgrid.helpers.mail import CustomArg, Header, Mail

from notifications.port import (
    IDEMPOTENCY_CUSTOM_ARG,
    IDEMPOTENCY_HEADER,
    Notice,
    NotifierInvalidRequestError,
    NotifierTransientError,
    SendResult,
)

PROVIDER = "sendgrid"


class SendGridEmailNotifier:
    def __init__(
        self,
        api_key: str,
        api_base: str | None,
        from_email: str,
        *,
        timeout_seconds: float = 10.0,
    ) -> None:
        if api_base:
            self._client = SendGridAPIClient(api_key=api_key, host=api_base.rstrip("/"))
        else:
            self._client = SendGridAPIClient(api_key=api_key)
        self._client.client.timeout = timeout_seconds
        self._from_email = from_email

    def send(self, notice: Notice) -> SendResult:
        body = self._body(notice)
        try:
            response = self._client.send(body)
        except HTTPError as exc:
            raise _classify(notice, exc) from exc
        except (OSError, http.client.HTTPException) as exc:
            raise NotifierTransientError(
                f"SendGrid unreachable for notice {notice.idempotency_key!r}: {exc}"
            ) from exc
        message_id = response.headers.get("X-Message-Id")
        return SendResult(provider=PROVIDER, provider_message_id=message_id or "")

    def _body(self, notice: Notice) -> dict[str, Any]:
        if notice.channel != "email":
            raise NotifierInvalidRequestError(
                f"SendGridEmailNotifier sends e-mail only, got channel {notice.channel!r} "
                f"for notice {notice.idempotency_key!r}; route sms to the SMS notifier"
            )
        if not notice.subject:
            raise NotifierInvalidRequestError(
                f"e-mail notice {notice.idempotency_key!r} has no subject; "
                "render it with an email_subject.j2 template"
            )
        try:
            mail = Mail(
                from_email=self._from_email,
                to_emails=notice.to,
                subject=notice.subject,
                plain_text_content=notice.text,
                html_content=notice.html,
            )
            mail.custom_arg = CustomArg(IDEMPOTENCY_CUSTOM_ARG, notice.idempotency_key)
            mail.header = Header(IDEMPOTENCY_HEADER, notice.idempotency_key)
            body: dict[str, Any] = mail.get()
        except (KeyError, ValueError, TypeError) as exc:  # the SDK's own validation
            raise NotifierInvalidRequestError(
                f"e-mail notice {notice.idempotency_key!r} cannot be built: recipient "
                f"{notice.to!r} or sender {self._from_email!r} is not a valid address ({exc!r})"
            ) from exc
        return body


def _classify(notice: Notice, exc: HTTPError) -> Exception:
    status = int(exc.status_code)
    body = exc.body.decode("utf-8", "replace") if isinstance(exc.body, bytes) else str(exc.body)
    detail = f"SendGrid answered {status} for notice {notice.idempotency_key!r}: {body[:500]}"
    if status == 429 or status >= 500:
        return NotifierTransientError(detail)
    return NotifierInvalidRequestError(detail)
