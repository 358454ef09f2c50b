"""Fixtures for the payments adapter tests: each test gets fresh stand-ins on free ports."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from payments.standins import AdyenStandIn, StripeStandIn


@pytest.fixture
def payments_stripe_standin() -> Iterator[StripeStandIn]:
    with StripeStandIn(port=0) as standin:
        yield standin


@pytest.fixture
def payments_adyen_standin() -> Iterator[AdyenStandIn]:
    with AdyenStandIn(port=0) as standin:
        yield standin
