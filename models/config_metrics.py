"""Billable metrics declared in a catalog: what to aggregate from usage events, and how."""

from __future__ import annotations

from typing import Literal

from models.config_types import Code, Text, _Config


class MetricConfig(_Config):
    code: Code
    name: Text
    aggregation: Literal["sum"]
    unit: Text
