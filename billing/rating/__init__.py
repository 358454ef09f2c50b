"""Telco rating (pure): rate tables with destination prefixes, weekday/time-of-day bands,
charging increments, setup fees, data per MB and SMS per message."""

from billing.rating.bands import DAYS, Band, BandClock, BandWindow, coverage_issues
from billing.rating.engine import (
    BYTES_PER_MB,
    RatedEvent,
    Rater,
    RatingError,
    ceil_units,
    nanos_to_decimal,
    to_nanos,
)
from billing.rating.table import (
    SERVICES,
    DataRate,
    Destination,
    Increments,
    RateTable,
    Service,
    VoiceRate,
)

__all__ = [
    "BYTES_PER_MB",
    "DAYS",
    "SERVICES",
    "Band",
    "BandClock",
    "BandWindow",
    "DataRate",
    "Destination",
    "Increments",
    "RateTable",
    "RatedEvent",
    "Rater",
    "RatingError",
    "Service",
    "VoiceRate",
    "ceil_units",
    "coverage_issues",
    "nanos_to_decimal",
    "to_nanos",
]
