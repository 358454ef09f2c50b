"""OutboxNotifier files, the channel router and the factory (outbox and providers modes)."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from notifications.factory import build_notifier
from notifications.outbox import OutboxNotifier, safe_key
from notifications.port import Notice
from notifications.render import Renderer
from notifications.standins import start_notification_standins

TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "templates"


def notice(channel: str = "email", key: str = "dunning:INV-1:step:2:email", **kw: str) -> Notice:
    values = {
        "idempotency_key": key,
        "channel": channel,
        "to": "ada@example.com" if channel == "email" else "+33612345678",
        "subject": "Reminder" if channel == "email" else None,
        "text": "Please pay.",
        "html": "<p>Please pay.</p>" if channel == "email" else None,
        "template": "dunning_reminder",
        "customer_id": "cus_1",
    }
    return Notice.model_validate(values | kw)


def test_outbox_writes_json_and_html_once_per_key(tmp_path: Path) -> None:
    outbox = OutboxNotifier(tmp_path)
    first = outbox.send(notice())
    again = outbox.send(notice(text="A re-rendered body"))

    assert again == first and first.provider == "outbox"
    path = tmp_path / "email" / f"{safe_key('dunning:INV-1:step:2:email')}.json"
    assert path == outbox.path_for(notice())
    assert sorted(p.name for p in (tmp_path / "email").iterdir()) == [
        path.with_suffix(".html").name,
        path.name,
    ]
    record = json.loads(path.read_text())
    assert record["text"] == "Please pay."
    assert record["idempotency_key"] == "dunning:INV-1:step:2:email"
    assert record["provider_message_id"] == first.provider_message_id
    assert path.with_suffix(".html").read_text() == "<p>Please pay.</p>"


def test_outbox_sms_has_no_html_and_keys_never_collide(tmp_path: Path) -> None:
    outbox = OutboxNotifier(tmp_path)
    a = outbox.send(notice("sms", key="dunning:INV-1:step:2:sms"))
    b = outbox.send(notice("sms", key="dunning_INV-1_step_2_sms"))

    assert a != b
    assert len(list((tmp_path / "sms").glob("*.json"))) == 2
    assert list((tmp_path / "sms").glob("*.html")) == []


def test_outbox_racing_writers_agree_on_one_message(tmp_path: Path) -> None:
    outbox = OutboxNotifier(tmp_path)
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = set(pool.map(lambda _: outbox.send(notice()), range(16)))
    assert len(results) == 1
    assert len(list((tmp_path / "email").glob("*.json"))) == 1
    assert not list((tmp_path / "email").glob(".tmp-*"))


def test_factory_outbox_mode_routes_both_channels_to_files(tmp_path: Path) -> None:
    notifier = build_notifier(
        mode="outbox",
        outbox_dir=tmp_path,
        sendgrid_api_key="unused",
        sendgrid_api_base="",
        email_from="billing@o2c.example",
        twilio_account_sid="unused",
        twilio_auth_token="unused",
        twilio_api_base="",
        sms_from="+15005550006",
    )
    notifier.send(notice())
    notifier.send(notice("sms", key="k:sms"))
    assert {p.parent.name for p in tmp_path.rglob("*.json")} == {"email", "sms"}


def test_factory_providers_mode_sends_rendered_notices_through_both_standins(
    tmp_path: Path,
) -> None:
    renderer = Renderer(TEMPLATES_DIR)
    context = {
        "customer_name": "Ada",
        "invoice_number": "INV-1",
        "amount_minor": 1200,
        "currency": "EUR",
        "decline_reason": "card expired",
    }
    with start_notification_standins(sendgrid_port=0, twilio_port=0) as standins:
        notifier = build_notifier(
            mode="providers",
            outbox_dir=tmp_path,
            sendgrid_api_key="SG.o2c_local",
            sendgrid_api_base=standins.sendgrid.url,
            email_from="billing@o2c.example",
            twilio_account_sid="AC" + "0" * 32,
            twilio_auth_token="o2c_local_token",
            twilio_api_base=standins.twilio.url,
            sms_from="+15005550006",
        )
        for channel, to in [("email", "ada@example.com"), ("sms", "+33612345678")]:
            rendered = renderer.render_notice("payment_failed", channel, "fr_FR", context)  # type: ignore[arg-type]
            notifier.send(
                Notice(
                    idempotency_key=f"payment:INV-1:attempt:1:{channel}",
                    channel=channel,
                    to=to,
                    template="payment_failed",
                    customer_id="cus_1",
                    **rendered.model_dump(),
                )
            )
        (mail,) = standins.sendgrid.messages
        (text,) = standins.twilio.messages
    assert mail["subject"] == "Échec du paiement de la facture INV-1"
    assert "12,00\u00a0€" in mail["text"] and mail["html"].startswith("<!DOCTYPE html>")
    assert text["body"].startswith("Échec du paiement de 12,00 € (facture INV-1)")
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("mode", ["smtp"])
def test_factory_rejects_unknown_modes(mode: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="'outbox' or 'providers'"):
        build_notifier(
            mode=mode,  # type: ignore[arg-type]
            outbox_dir=tmp_path,
            sendgrid_api_key="",
            sendgrid_api_base=None,
            email_from="",
            twilio_account_sid="",
            twilio_auth_token="",
            twilio_api_base=None,
            sms_from="",
        )
