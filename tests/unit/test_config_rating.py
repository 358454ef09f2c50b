"""Rate tables in config/rating/: the demo table loads; every defect is reported with its
file, line, field and rule; a config without a rating folder stays valid."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from models.config_loader import check_config, load_config
from models.config_types import UnknownConfigError

ROOT = Path(__file__).resolve().parents[2]
VALID = ROOT / "tests" / "fixtures" / "config_valid" / "config"
FILE = "config/rating/tiny.v1.yaml"

TINY = """\
kind: rate_table
code: tiny
version: 1
name: Tiny table
currency: EUR
timezone: Europe/Paris
metrics: {voice: voice_seconds, sms: sms_messages}
bands:
  - code: peak
    windows:
      - {days: [mon, tue, wed, thu, fri], start: "08:00", end: "20:00"}
  - code: offpeak
    windows:
      - {days: [mon, tue, wed, thu, fri], start: "20:00", end: "08:00"}
      - {days: [sat, sun], start: "08:00", end: "20:00"}
      - {days: [sat], start: "20:00", end: "08:00"}
      - {days: [sun], start: "20:00", end: "08:00"}
destinations:
  - prefix: "33"
    name: France
    voice: {per_minute: {peak: "0.02", offpeak: "0.01"}, increments: "60/60", setup_fee: "0.01"}
    sms: "0.05"
  - prefix: "336"
    name: France mobile
    voice: {per_minute: "0.06", increments: "30/6"}
"""


def problems_of(tmp_path: Path, text: str, name: str = "tiny.v1.yaml") -> list[str]:
    config = tmp_path / "config"
    shutil.copytree(VALID, config)
    (config / "rating").mkdir()
    (config / "rating" / name).write_text(text, encoding="utf-8")
    return [str(p) for p in check_config(config)]


def test_the_demo_rate_table_loads() -> None:
    snapshot = load_config(ROOT / "config")
    table = snapshot.rate_table("telco-demo").to_core()
    assert (table.currency, table.timezone) == ("EUR", "Europe/Paris")
    assert [b.code for b in table.bands] == ["peak", "offpeak", "weekend"]
    assert dict(table.metrics) == {
        "voice": "voice_seconds",
        "data": "data_bytes",
        "sms": "sms_messages",
    }
    with pytest.raises(UnknownConfigError, match="unknown rate table 'nope'"):
        snapshot.rate_table("nope")


def test_the_tiny_table_is_valid_and_a_config_without_rating_too(tmp_path: Path) -> None:
    assert problems_of(tmp_path, TINY) == []
    assert load_config(VALID).rate_tables == []


def edit(old: str, new: str) -> str:
    assert old in TINY, old
    return TINY.replace(old, new)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            edit('prefix: "336"', 'prefix: "33"'),
            f"{FILE}:23: destinations[1].prefix: duplicate prefix '33'"
            " (first declared at destinations[0].prefix)",
        ),
        (
            edit(
                'start: "08:00", end: "20:00"}\n  - code', 'start: "08:00", end: "21:00"}\n  - code'
            ),
            f"{FILE}:14: bands[1].windows[0]: overlaps band 'peak' windows[0] from mon 20:00",
        ),
        (
            edit('      - {days: [sun], start: "20:00", end: "08:00"}\n', ""),
            f"{FILE}:8: bands: the bands leave gaps in the week: sun 20:00 to mon 08:00",
        ),
        (
            edit('increments: "30/6"', 'increments: "30-6"'),
            f"{FILE}:25: destinations[1].voice.increments: increments '30-6' must be"
            " 'first/next' in whole seconds >= 1",
        ),
        (
            edit('increments: "30/6"', 'increments: "0/6"'),
            f"{FILE}:25: destinations[1].voice.increments: increments '0/6' must be",
        ),
        (
            edit('sms: "0.05"', "sms: 0.05"),
            f"{FILE}:22: destinations[0].sms: amount must be a quoted decimal string, got float"
            ' 0.05 (write "0.05")',
        ),
        (
            edit('start: "20:00", end: "08:00"}\ndest', 'start: 20:00, end: "08:00"}\ndest'),
            f'{FILE}:17: bands[1].windows[3].start: a time must be a quoted string (write "08:00"),'
            " got int 1200",
        ),
        (
            edit('prefix: "33"\n', "prefix: 33\n"),
            f'{FILE}:19: destinations[0].prefix: a prefix must be a quoted string (write "336")',
        ),
        (
            edit('{peak: "0.02", offpeak: "0.01"}', '{peak: "0.02"}'),
            f"{FILE}:21: destinations[0].voice.per_minute: no price for band 'offpeak'",
        ),
        (
            edit('{peak: "0.02", offpeak: "0.01"}', '{peak: "0.02", offpeak: "0.01", night: "0"}'),
            f"{FILE}:21: destinations[0].voice.per_minute.night: unknown band 'night'",
        ),
        (
            edit('start: "20:00", end: "08:00"}\ndest', 'start: "20:00", end: "24:30"}\ndest'),
            f"{FILE}:17: bands[1].windows[3].end: '24:30' is not a time",
        ),
        (
            edit("days: [sun]", "days: [sunday]"),
            f"{FILE}:17: bands[1].windows[3].days[0]: 'sunday' is not allowed here",
        ),
        (
            edit(
                "metrics: {voice: voice_seconds, sms: sms_messages}", "metrics: {data: data_bytes}"
            ),
            f"{FILE}:7: metrics.data: a data metric needs a `data:` price section",
        ),
        (
            edit('    voice: {per_minute: "0.06", increments: "30/6"}\n', ""),
            f"{FILE}:23: destinations[1]: price voice, sms or both",
        ),
        (
            edit("version: 1", "version: 2"),
            f"{FILE}:3: version: version is 2 but the file name says '1'",
        ),
        (
            edit("currency: EUR", "currency: EURO"),
            f"{FILE}:5: currency: unknown currency 'EURO'",
        ),
    ],
)
def test_invalid_rate_tables_are_reported_where_they_are_wrong(
    tmp_path: Path, text: str, expected: str
) -> None:
    problems = problems_of(tmp_path, text)
    assert any(p.startswith(expected) for p in problems), problems


def test_a_rate_table_in_the_wrong_folder_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "config"
    shutil.copytree(VALID, config)
    (config / "catalog" / "tiny.v1.yaml").write_text(TINY, encoding="utf-8")
    problems = [str(p) for p in check_config(config)]
    assert any("a rate_table file belongs in rating/, not catalog/" in p for p in problems)
