"""What activities need, built once per worker process by worker.py."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from temporalio.exceptions import ApplicationError

from models.config import ConfigSnapshot
from models.db import Database
from notifications.port import Notifier
from notifications.render import Renderer
from payments.port import PaymentGateway


@dataclass(frozen=True)
class Deps:
    db: Database
    config: ConfigSnapshot
    gateways: Mapping[str, PaymentGateway]
    notifier: Notifier
    renderer: Renderer


def local_date(instant: datetime, timezone: str) -> date:
    return instant.astimezone(ZoneInfo(timezone)).date()


def invalid(message: str, error_type: str) -> ApplicationError:
    """A request that can never succeed: fails the activity without retries."""
    return ApplicationError(message, type=error_type, non_retryable=True)
