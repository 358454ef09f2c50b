"""Loopback stand-ins that speak SendGrid's and Twilio's HTTP APIs (tests and the demo)."""

from __future__ import annotations

from dataclasses import dataclass

from notifications.standins._http import TRANSIENT_FAIL_MARKER, RecordedRequest
from notifications.standins.sendgrid_standin import SendGridStandin
from notifications.standins.twilio_standin import TwilioStandin

__all__ = [
    "TRANSIENT_FAIL_MARKER",
    "NotificationStandins",
    "RecordedRequest",
    "SendGridStandin",
    "TwilioStandin",
    "start_notification_standins",
]


@dataclass(frozen=True)
class NotificationStandins:
    sendgrid: SendGridStandin
    twilio: TwilioStandin

    def stop(self) -> None:
        self.sendgrid.stop()
        self.twilio.stop()

    def __enter__(self) -> NotificationStandins:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_notification_standins(
    host: str = "127.0.0.1", sendgrid_port: int = 12113, twilio_port: int = 12114
) -> NotificationStandins:
    """Start both stand-ins (port 0 = ephemeral); the defaults match settings.py."""
    sendgrid = SendGridStandin(host, sendgrid_port).start()
    try:
        twilio = TwilioStandin(host, twilio_port).start()
    except OSError:
        sendgrid.stop()
        raise
    return NotificationStandins(sendgrid=sendgrid, twilio=twilio)
