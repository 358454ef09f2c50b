"""TwilioSmsNotifier through the real twilio SDK against the loopback stand-in."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest

from notifications.port import Notice, NotifierInvalidRequestError, NotifierTransientError
from notifications.standins import TwilioStandin
from notifications.twilio_sms import TwilioSmsNotifier

SID = "AC" + "1" * 32
TOKEN = "o2c_test_token"


@pytest.fixture
def standin() -> Iterator[TwilioStandin]:
    with TwilioStandin(port=0, auth_token=TOKEN) as server:
        yield server


@pytest.fixture
def notifier(standin: TwilioStandin) -> TwilioSmsNotifier:
    return TwilioSmsNotifier(SID, TOKEN, standin.url, "+15005550006", timeout_seconds=5)


def sms(to: str = "+33612345678", key: str = "dunning:INV-1:step:2:sms") -> Notice:
    return Notice(
        idempotency_key=key,
        channel="sms",
        to=to,
        text="Rappel : la facture INV-1 (12,00 €) est en retard de 7 jours.",
        template="dunning_reminder",
        customer_id="cus_1",
    )


def test_request_carries_the_fields_and_the_idempotency_key(
    standin: TwilioStandin, notifier: TwilioSmsNotifier
) -> None:
    result = notifier.send(sms())

    (request,) = standin.requests
    assert request.method == "POST"
    assert request.path == f"/2010-04-01/Accounts/{SID}/Messages.json"
    assert request.status == 201
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.headers["Authorization"] == (
        "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
    )
    assert request.headers["X-O2C-Idempotency-Key"] == "dunning:INV-1:step:2:sms"
    assert request.body == {
        "To": "+33612345678",
        "From": "+15005550006",
        "Body": "Rappel : la facture INV-1 (12,00 €) est en retard de 7 jours.",
    }
    (message,) = standin.messages
    assert result.provider == "twilio"
    assert result.provider_message_id == message["sid"]
    assert result.provider_message_id.startswith("SM")


def test_a_retried_send_with_the_same_key_is_delivered_once(
    standin: TwilioStandin, notifier: TwilioSmsNotifier
) -> None:
    first = notifier.send(sms())
    again = notifier.send(sms())
    other = notifier.send(sms(key="dunning:INV-1:step:3:sms"))

    assert again == first != other
    assert len(standin.requests) == 3
    assert len(standin.messages) == 2


def test_transient_failure_is_retryable_then_succeeds(
    standin: TwilioStandin, notifier: TwilioSmsNotifier
) -> None:
    notice = sms(to="+15550001111transient-fail")
    with pytest.raises(NotifierTransientError, match="503"):
        notifier.send(notice)
    assert standin.messages == []

    result = notifier.send(notice)

    assert [r.status for r in standin.requests] == [503, 201]
    assert [m["sid"] for m in standin.messages] == [result.provider_message_id]


def test_a_rejected_request_is_not_retryable(
    standin: TwilioStandin, notifier: TwilioSmsNotifier
) -> None:
    with pytest.raises(NotifierInvalidRequestError, match="21211"):
        notifier.send(sms(to="not-a-number"))
    wrong_token = TwilioSmsNotifier(SID, "wrong", standin.url, "+15005550006")
    with pytest.raises(NotifierInvalidRequestError, match="401"):
        wrong_token.send(sms())
    with pytest.raises(NotifierInvalidRequestError, match="sms only"):
        notifier.send(sms().model_copy(update={"channel": "email"}))
    assert standin.messages == []


def test_an_unreachable_provider_is_transient(standin: TwilioStandin) -> None:
    url = standin.url
    standin.stop()
    notifier = TwilioSmsNotifier(SID, TOKEN, url, "+15005550006", timeout_seconds=2)
    with pytest.raises(NotifierTransientError, match="unreachable"):
        notifier.send(sms())
