"""SMS through Twilio's Messages API, on the official ``twilio`` SDK.

The SDK builds absolute ``https://api.twilio.com/...`` URLs; the supported seam to point it
elsewhere is its ``http_client`` argument, so ``_RebasingHttpClient`` rewrites the scheme and
host to ``api_base`` (the loopback stand-in) and adds the idempotency header to the request.
Twilio ignores that header; the stand-in dedupes on it, the database does in production.
"""

from __future__ import annotations

from contextvars import ContextVar
from urllib.parse import urlsplit

import requests
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from notifications.port import (
    IDEMPOTENCY_HEADER,
    Notice,
    NotifierInvalidRequestError,
    NotifierTransientError,
    SendResult,
)

PROVIDER = "twilio"

# Per-thread/per-task: activities may share one notifier across threads.
_idempotency_key: ContextVar[str | None] = ContextVar("o2c_twilio_idempotency_key", default=None)


class _RebasingHttpClient(TwilioHttpClient):  # type: ignore[misc]  # untyped SDK
    def __init__(self, api_base: str | None, timeout_seconds: float) -> None:
        super().__init__(timeout=timeout_seconds)
        self._api_base = api_base.rstrip("/") if api_base else None

    def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        if self._api_base:
            parts = urlsplit(url)
            url = self._api_base + parts.path + (f"?{parts.query}" if parts.query else "")
        key = _idempotency_key.get()
        if key:
            headers = {**(headers or {}), IDEMPOTENCY_HEADER: key}
        return super().request(method, url, params, data, headers, auth, timeout, allow_redirects)


class TwilioSmsNotifier:
    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        api_base: str | None,
        from_number: str,
        *,
        timeout_seconds: float = 10.0,
    ) -> None:
        self._client = Client(
            username=account_sid,
            password=auth_token,
            account_sid=account_sid,
            http_client=_RebasingHttpClient(api_base, timeout_seconds),
        )
        self._from_number = from_number

    def send(self, notice: Notice) -> SendResult:
        if notice.channel != "sms":
            raise NotifierInvalidRequestError(
                f"TwilioSmsNotifier sends sms only, got channel {notice.channel!r} "
                f"for notice {notice.idempotency_key!r}; route e-mail to the e-mail notifier"
            )
        token = _idempotency_key.set(notice.idempotency_key)
        try:
            message = self._client.messages.create(
                to=notice.to, from_=self._from_number, body=notice.text
            )
        except TwilioRestException as exc:
            raise _classify(notice, exc) from exc
        except requests.RequestException as exc:
            raise NotifierTransientError(
                f"Twilio unreachable for notice {notice.idempotency_key!r}: {exc}"
            ) from exc
        finally:
            _idempotency_key.reset(token)
        return SendResult(provider=PROVIDER, provider_message_id=str(message.sid))


def _classify(notice: Notice, exc: TwilioRestException) -> Exception:
    status = int(exc.status)
    detail = (
        f"Twilio answered {status} (code {exc.code}) for notice "
        f"{notice.idempotency_key!r}: {exc.msg}"
    )
    if status == 429 or status >= 500:
        return NotifierTransientError(detail)
    return NotifierInvalidRequestError(detail)
