"""Build the notifier the settings ask for (plain arguments: no settings import here)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from notifications.outbox import OutboxNotifier
from notifications.port import Notifier
from notifications.router import ChannelRouter
from notifications.sendgrid_email import SendGridEmailNotifier
from notifications.twilio_sms import TwilioSmsNotifier


def build_notifier(
    *,
    mode: Literal["outbox", "providers"],
    outbox_dir: Path,
    sendgrid_api_key: str,
    sendgrid_api_base: str | None,
    email_from: str,
    twilio_account_sid: str,
    twilio_auth_token: str,
    twilio_api_base: str | None,
    sms_from: str,
) -> Notifier:
    """``outbox``: files under ``outbox_dir``; ``providers``: SendGrid + Twilio.

    An empty ``*_api_base`` means the provider's real endpoint (real credentials).
    """
    if mode == "outbox":
        return OutboxNotifier(Path(outbox_dir))
    if mode == "providers":
        return ChannelRouter(
            email=SendGridEmailNotifier(sendgrid_api_key, sendgrid_api_base or None, email_from),
            sms=TwilioSmsNotifier(
                twilio_account_sid, twilio_auth_token, twilio_api_base or None, sms_from
            ),
        )
    raise ValueError(f"notifier mode must be 'outbox' or 'providers', got {mode!r}")
