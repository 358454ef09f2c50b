"""SendGridEmailNotifier through the real sendgrid SDK against the loopback stand-in."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from notifications.port import Notice, NotifierInvalidRequestError, NotifierTransientError
from notifications.sendgrid_email import SendGridEmailNotifier
from notifications.standins import SendGridStandin

API_KEY = "SG.o2c_test"


@pytest.fixture
def standin() -> Iterator[SendGridStandin]:
    with SendGridStandin(port=0, api_key=API_KEY) as server:
        yield server


@pytest.fixture
def notifier(standin: SendGridStandin) -> SendGridEmailNotifier:
    return SendGridEmailNotifier(API_KEY, standin.url, "billing@o2c.example", timeout_seconds=5)


def email(to: str = "ada@example.com", key: str = "dunning:INV-1:step:2:email") -> Notice:
    return Notice(
        idempotency_key=key,
        channel="email",
        to=to,
        subject="Reminder: invoice INV-1 is 7 days overdue",
        text="Hello Ada,\nplease pay.\n",
        html="<p>Hello Ada, please pay.</p>",
        template="dunning_reminder",
        customer_id="cus_1",
    )


def test_request_carries_the_fields_and_the_idempotency_key(
    standin: SendGridStandin, notifier: SendGridEmailNotifier
) -> None:
    result = notifier.send(email())

    (request,) = standin.requests
    assert (request.method, request.path, request.status) == ("POST", "/v3/mail/send", 202)
    assert request.headers["Authorization"] == f"Bearer {API_KEY}"
    body = request.body
    assert body["from"] == {"email": "billing@o2c.example"}
    assert body["personalizations"][0]["to"] == [{"email": "ada@example.com"}]
    assert body["subject"] == "Reminder: invoice INV-1 is 7 days overdue"
    assert body["content"] == [
        {"type": "text/plain", "value": "Hello Ada,\nplease pay.\n"},
        {"type": "text/html", "value": "<p>Hello Ada, please pay.</p>"},
    ]
    assert body["custom_args"] == {"o2c_idempotency_key": "dunning:INV-1:step:2:email"}
    assert body["headers"] == {"X-O2C-Idempotency-Key": "dunning:INV-1:step:2:email"}
    (message,) = standin.messages
    assert result.provider == "sendgrid"
    assert result.provider_message_id == message["message_id"] != ""


def test_a_retried_send_with_the_same_key_is_delivered_once(
    standin: SendGridStandin, notifier: SendGridEmailNotifier
) -> None:
    first = notifier.send(email())
    again = notifier.send(email())
    other = notifier.send(email(key="dunning:INV-1:step:3:email"))

    assert again == first != other
    assert len(standin.requests) == 3
    assert [m["idempotency_key"] for m in standin.messages] == [
        "dunning:INV-1:step:2:email",
        "dunning:INV-1:step:3:email",
    ]


def test_transient_failure_is_retryable_then_succeeds(
    standin: SendGridStandin, notifier: SendGridEmailNotifier
) -> None:
    notice = email(to="transient-fail@example.com")
    with pytest.raises(NotifierTransientError, match="503"):
        notifier.send(notice)
    assert standin.messages == []

    result = notifier.send(notice)

    assert [r.status for r in standin.requests] == [503, 202]
    assert [m["message_id"] for m in standin.messages] == [result.provider_message_id]


def test_a_rejected_request_is_not_retryable(
    standin: SendGridStandin, notifier: SendGridEmailNotifier
) -> None:
    with pytest.raises(NotifierInvalidRequestError, match=r"400.*valid address"):
        notifier.send(email(to="ada@nowhere"))
    wrong_key = SendGridEmailNotifier("SG.wrong", standin.url, "billing@o2c.example")
    with pytest.raises(NotifierInvalidRequestError, match="401"):
        wrong_key.send(email())
    assert standin.messages == []


def test_notices_the_adapter_cannot_send_are_refused_before_any_request(
    standin: SendGridStandin, notifier: SendGridEmailNotifier
) -> None:
    with pytest.raises(NotifierInvalidRequestError, match="no subject"):
        notifier.send(email().model_copy(update={"subject": None}))
    with pytest.raises(NotifierInvalidRequestError, match=r"'not-an-address'.*not a valid"):
        notifier.send(email(to="not-an-address"))
    with pytest.raises(NotifierInvalidRequestError, match="e-mail only"):
        notifier.send(email().model_copy(update={"channel": "sms"}))
    assert standin.requests == []


def test_an_unreachable_provider_is_transient(standin: SendGridStandin) -> None:
    url = standin.url
    standin.stop()
    notifier = SendGridEmailNotifier(API_KEY, url, "billing@o2c.example", timeout_seconds=2)
    with pytest.raises(NotifierTransientError, match="unreachable"):
        notifier.send(email())
