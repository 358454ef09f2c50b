"""Every notice template renders in every language and channel, strictly; invoices too."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path
from typing import Any

import jinja2
import pytest
from pydantic import ValidationError

from notifications.contexts import NOTICE_TEMPLATES
from notifications.port import Channel
from notifications.render import Renderer, UnknownTemplateError
from notifications.views import InvoiceLineView, InvoiceView

TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "templates"
NBSP, NNBSP = "\u00a0", "\u202f"
GSM7 = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡"
    "ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà^{}\\[~]|€"
)


def invoice(currency: str = "EUR", **overrides: Any) -> InvoiceView:
    values: dict[str, Any] = {
        "invoice_id": "inv_01",
        "number": "INV-2025-000123",
        "issued_on": date(2025, 4, 1),
        "due_on": date(2025, 4, 15),
        "period_start": date(2025, 3, 1),
        "period_end": date(2025, 4, 1),
        "currency": currency,
        "customer_name": "Dupont & Fils",
        "customer_email": "compta@dupont.example",
        "legal_entity_name": "O2C France SAS",
        "legal_entity_address": ["12 rue de la Paix", "75002 Paris", "France"],
        "lines": [
            InvoiceLineView(
                description="Plan Pro",
                quantity="1",
                unit_amount="1000.00",
                amount_minor=100000,
                period_start=date(2025, 3, 1),
                period_end=date(2025, 4, 1),
            ),
            InvoiceLineView(
                description="API calls",
                quantity="23456",
                unit_amount="0.0015",
                amount_minor=3518,
                period_start=date(2025, 3, 1),
                period_end=date(2025, 4, 1),
            ),
        ],
        "subtotal_minor": 103518,
        "tax_minor": 20704,
        "total_minor": 124222,
        "status": "open",
    }
    return InvoiceView(**(values | overrides))


AMOUNT = {"invoice_number": "INV-2025-000123", "amount_minor": 124222, "currency": "EUR"}
CONTEXTS: dict[str, dict[str, Any]] = {
    "invoice_issued": {"customer_name": "Dupont & Fils", "invoice": invoice()},
    "payment_succeeded": {"customer_name": "Ada", "paid_on": date(2025, 4, 2), **AMOUNT},
    "payment_failed": {"customer_name": "Ada", "decline_reason": "insufficient funds", **AMOUNT},
    "dunning_reminder": {
        "customer_name": "Ada",
        "step_name": "reminder_2",
        "days_overdue": 7,
        **AMOUNT,
    },
    "dunning_suspended": {"customer_name": "Ada", "days_overdue": 14, **AMOUNT},
    "dunning_final_notice": {"customer_name": "Ada", "days_overdue": 30, **AMOUNT},
}
CASES = [
    (name, channel, locale)
    for name, spec in NOTICE_TEMPLATES.items()
    for channel in spec.channels
    for locale in ("en_US", "fr_FR")
]


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer(TEMPLATES_DIR)


def test_every_template_has_a_sample_context() -> None:
    assert set(CONTEXTS) == set(NOTICE_TEMPLATES)


@pytest.mark.parametrize("portal_url", [None, "https://portal.o2c.example/pay/INV-2025-000123"])
@pytest.mark.parametrize(("name", "channel", "locale"), CASES)
def test_every_template_renders_strictly(
    renderer: Renderer, name: str, channel: Channel, locale: str, portal_url: str | None
) -> None:
    notice = renderer.render_notice(
        name, channel, locale, CONTEXTS[name] | {"portal_url": portal_url}
    )
    assert notice.text.strip()
    assert "{{" not in notice.text and "{%" not in notice.text
    if channel == "sms":
        assert notice.subject is None and notice.html is None
        assert set(notice.text) <= GSM7, set(notice.text) - GSM7
        if portal_url is None:
            assert len(notice.text) <= 160, notice.text
        return
    assert notice.subject and "\n" not in notice.subject
    assert notice.html is not None
    assert f'<html lang="{locale[:2]}">' in notice.html
    if portal_url is None:
        assert "href" not in notice.html
    else:
        assert f'href="{portal_url}"' in notice.html and portal_url in notice.text


def test_french_notices_are_in_french(renderer: Renderer) -> None:
    fr = renderer.render_notice("payment_failed", "email", "fr_FR", CONTEXTS["payment_failed"])
    en = renderer.render_notice("payment_failed", "email", "en_US", CONTEXTS["payment_failed"])
    assert fr.subject == "Échec du paiement de la facture INV-2025-000123"
    assert en.subject == "Payment failed for invoice INV-2025-000123"
    assert f"1{NNBSP}242,22{NBSP}€" in fr.text
    assert "€1,242.22" in en.text


def test_sms_spaces_are_plain_so_the_message_stays_gsm7(renderer: Renderer) -> None:
    sms = renderer.render_notice("dunning_reminder", "sms", "fr_FR", CONTEXTS["dunning_reminder"])
    assert sms.text == (
        "Rappel : la facture INV-2025-000123 (1 242,22 €) est en retard de 7 jours. "
        "Merci de la régler."
    )


def test_unknown_language_falls_back_to_english_but_keeps_locale_formats(
    renderer: Renderer,
) -> None:
    notice = renderer.render_notice("payment_failed", "email", "de_DE", CONTEXTS["payment_failed"])
    assert notice.subject == "Payment failed for invoice INV-2025-000123"
    assert f"1.242,22{NBSP}€" in notice.text


def test_template_missing_in_french_falls_back_to_english_as_a_whole(
    renderer: Renderer, tmp_path: Path
) -> None:
    shutil.copytree(TEMPLATES_DIR, tmp_path, dirs_exist_ok=True)
    shutil.rmtree(tmp_path / "notices/fr/payment_succeeded")
    shutil.rmtree(tmp_path / "invoices/fr")
    partial = Renderer(tmp_path)
    context = CONTEXTS["payment_succeeded"]
    notice = partial.render_notice("payment_succeeded", "email", "fr_FR", context)
    assert notice.subject == "Payment received for invoice INV-2025-000123"
    assert "2 avr. 2025" in notice.text  # English words, French date
    assert '<html lang="en">' in partial.render_invoice_html(invoice(), "fr_FR")
    still_fr = partial.render_notice("payment_failed", "sms", "fr_FR", CONTEXTS["payment_failed"])
    assert still_fr.text.startswith("Échec du paiement")


def test_missing_or_misspelt_context_fields_are_rejected(renderer: Renderer) -> None:
    context = dict(CONTEXTS["payment_failed"])
    del context["decline_reason"]
    with pytest.raises(ValidationError, match="decline_reason"):
        renderer.render_notice("payment_failed", "email", "en_US", context)
    with pytest.raises(ValidationError, match="decline_reasn"):
        renderer.render_notice(
            "payment_failed", "sms", "en_US", CONTEXTS["payment_failed"] | {"decline_reasn": "x"}
        )


def test_undefined_variables_raise(tmp_path: Path) -> None:
    (tmp_path / "notices/en/adhoc").mkdir(parents=True)
    (tmp_path / "notices/en/adhoc/sms.txt.j2").write_text("Hi {{ customer_nam }}")
    with pytest.raises(jinja2.UndefinedError, match="customer_nam"):
        Renderer(tmp_path).render_notice("adhoc", "sms", "en", {"customer_name": "Ada"})


def test_unknown_template_or_channel_says_what_is_missing(renderer: Renderer) -> None:
    with pytest.raises(UnknownTemplateError, match="no notice template 'nope'"):
        renderer.render_notice("nope", "email", "en", {})
    with pytest.raises(UnknownTemplateError, match="has no sms variant"):
        renderer.render_notice("invoice_issued", "sms", "en", CONTEXTS["invoice_issued"])


def test_html_is_escaped_and_text_is_not(renderer: Renderer) -> None:
    context = CONTEXTS["payment_failed"] | {"customer_name": "<b>Ada</b> & Co"}
    notice = renderer.render_notice("payment_failed", "email", "en_US", context)
    assert "&lt;b&gt;Ada&lt;/b&gt; &amp; Co" in (notice.html or "")
    assert "Hello <b>Ada</b> & Co," in notice.text


def test_french_invoice_is_fully_translated(renderer: Renderer) -> None:
    html = renderer.render_invoice_html(invoice(), "fr_FR")
    for expected in [
        '<html lang="fr">',
        "O2C France SAS",
        "75002 Paris",
        "Facture",
        "INV-2025-000123",
        "Date d&#39;émission</th><td>1 avr. 2025",
        "Date d&#39;échéance</th><td>15 avr. 2025",
        "1\u201331 mars 2025",
        "Prix unitaire HT",
        "Total TTC",
        "À payer",
        f"0,0015{NBSP}€",
        f"23{NNBSP}456",
        f"1{NNBSP}000,00{NBSP}€",
        f"1{NNBSP}035,18{NBSP}€",
        f"207,04{NBSP}€",
        f"1{NNBSP}242,22{NBSP}€",
    ]:
        assert expected in html, expected
    for english in ["Invoice", "Due date", "Quantity", "Unit price", "Subtotal", "Total due"]:
        assert english not in html, english


@pytest.mark.parametrize(
    ("currency", "locale", "total"),
    [
        ("JPY", "en_US", "¥124,222"),
        ("BHD", "en_US", "BHD124.222"),
        ("EUR", "en_US", "€1,242.22"),
        ("JPY", "fr_FR", f"124{NNBSP}222{NBSP}JPY"),
    ],
)
def test_invoice_money_uses_the_invoice_currency(
    renderer: Renderer, currency: str, locale: str, total: str
) -> None:
    html = renderer.render_invoice_html(invoice(currency), locale)
    assert total in html


def test_english_invoice_lists_every_line_and_legal_mentions(renderer: Renderer) -> None:
    mention = "SIREN 123 456 789 - TVA FR12345678901"
    html = renderer.render_invoice_html(invoice(legal_mentions=[mention]), "en_US")
    assert "Plan Pro" in html and "API calls" in html and "23,456" in html
    assert "Issue date</th><td>Apr 1, 2025" in html
    assert mention in html
