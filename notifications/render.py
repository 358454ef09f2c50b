"""Render notices and invoices with Jinja2 (per language) and Babel (per locale).

Layout under ``templates_dir``::

    notices/<lang>/<template>/email_subject.j2, email.txt.j2, email.html.j2, sms.txt.j2
    invoices/<lang>/invoice.html.j2

``<lang>`` is the locale's language (``fr_FR`` -> ``fr``); a template missing in that language
falls back to ``en`` as a whole (never a French subject over an English body). Numbers and
dates always follow the requested locale. Undefined variables raise (StrictUndefined).
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from babel import Locale
from babel.dates import format_date, format_interval
from babel.numbers import format_currency, format_decimal
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from pydantic import BaseModel, ConfigDict

from billing.money import from_minor
from notifications.contexts import NOTICE_TEMPLATES
from notifications.port import Channel
from notifications.views import InvoiceView

FALLBACK_LANGUAGE = "en"
_SMS_SPACES = re.compile("[\u00a0\u2009\u202f]")  # Babel's spaces are not GSM-7: use " "
_BIDI_MARKS = re.compile("[\u200e\u200f\u061c]")


class RenderedNotice(BaseModel):
    model_config = ConfigDict(frozen=True)

    subject: str | None
    text: str
    html: str | None


class UnknownTemplateError(LookupError):
    """No template for this name/channel (in the requested language nor in English)."""


# --- filters (pure; usable outside templates) ---------------------------------------------
def money(amount_minor: int, currency: str, locale: str) -> str:
    """``123456, "EUR", "fr_FR"`` -> ``"1 234,56 €"`` (ISO 4217 exponent: JPY 0, BHD 3)."""
    return format_currency(from_minor(amount_minor, currency), currency, locale=locale)


def unit_price(unit_amount: str | Decimal, currency: str, locale: str) -> str:
    """A unit price in major units, keeping its sub-minor digits: ``"0.0015"`` -> ``0,0015 €``."""
    value = _normalised(unit_amount)
    return format_currency(value, currency, locale=locale, decimal_quantization=False)


def number(value: str | Decimal | int, locale: str) -> str:
    """A quantity with every significant digit: ``"12500.50"`` -> ``12 500,5`` in fr_FR."""
    return format_decimal(_normalised(value), locale=locale, decimal_quantization=False)


def date_medium(d: date, locale: str) -> str:
    return format_date(d, format="medium", locale=locale)


def period(start: date, end: date, locale: str) -> str:
    """A half-open period ``[start, end)`` shown up to its last day (end minus one day)."""
    last_day = end - timedelta(days=1) if end > start else start
    if last_day == start:
        return date_medium(start, locale)
    return format_interval(start, last_day, skeleton="yMMMd", locale=locale)


def language_of(locale: str) -> str:
    return Locale.parse(locale.replace("-", "_")).language


def _normalised(value: str | Decimal | int) -> Decimal:
    d = Decimal(str(value))
    return d.quantize(Decimal(1)) if d == d.to_integral_value() else d.normalize()


# --- renderer -----------------------------------------------------------------------------
class Renderer:
    def __init__(self, templates_dir: Path) -> None:
        self.templates_dir = Path(templates_dir)
        self._env = Environment(
            loader=FileSystemLoader(self.templates_dir),
            autoescape=select_autoescape(
                enabled_extensions=("html", "html.j2"), default_for_string=False
            ),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self._env.filters.update(
            money=money, unit_price=unit_price, number=number, date=date_medium, period=period
        )

    def render_notice(
        self, template: str, channel: Channel, locale: str, context: dict[str, Any]
    ) -> RenderedNotice:
        spec = NOTICE_TEMPLATES.get(template)
        values = dict(spec.context.model_validate(context)) if spec else dict(context)
        values["locale"] = locale
        folder = self._notice_folder(template, locale)
        if channel == "sms":
            text = self._render(f"{folder}/sms.txt.j2", values, template, channel)
            text = _BIDI_MARKS.sub("", _SMS_SPACES.sub(" ", text))
            return RenderedNotice(subject=None, text=text.strip(), html=None)
        subject = self._render(f"{folder}/email_subject.j2", values, template, channel)
        text = self._render(f"{folder}/email.txt.j2", values, template, channel)
        html_path = f"{folder}/email.html.j2"
        html = self._env.get_template(html_path).render(values) if self._exists(html_path) else None
        return RenderedNotice(
            subject=" ".join(subject.split()), text=text.strip() + "\n", html=html
        )

    def render_invoice_html(self, invoice: InvoiceView, locale: str) -> str:
        language = language_of(locale)
        path = f"invoices/{language}/invoice.html.j2"
        if not self._exists(path):
            path = f"invoices/{FALLBACK_LANGUAGE}/invoice.html.j2"
        return self._env.get_template(path).render(invoice=invoice, locale=locale)

    def _notice_folder(self, template: str, locale: str) -> str:
        for language in (language_of(locale), FALLBACK_LANGUAGE):
            folder = f"notices/{language}/{template}"
            if (self.templates_dir / folder).is_dir():
                return folder
        known = sorted(p.name for p in (self.templates_dir / "notices/en").glob("*") if p.is_dir())
        raise UnknownTemplateError(
            f"no notice template {template!r} under {self.templates_dir}/notices/"
            f"{{{language_of(locale)},{FALLBACK_LANGUAGE}}}/; known templates: {known}"
        )

    def _render(self, path: str, values: dict[str, Any], template: str, channel: str) -> str:
        if not self._exists(path):
            raise UnknownTemplateError(
                f"notice template {template!r} has no {channel} variant: "
                f"{self.templates_dir / path} is missing"
            )
        return self._env.get_template(path).render(values)

    def _exists(self, path: str) -> bool:
        return (self.templates_dir / path).is_file()
