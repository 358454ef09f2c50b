"""Streaming readers of usage files: CSV and JSONL, plain or gzipped; unreadable lines are
reported by line number and reading goes on. Quantities read from them are exact."""

from __future__ import annotations

import gzip
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.usage_files import BadLine, EventFile, EventFileError, detect_format
from models.usage_values import join_quantity, parse_quantity


def write(path: Path, text: str) -> Path:
    data = text.encode()
    if path.name.endswith(".gz"):
        path.write_bytes(gzip.compress(data))
    else:
        path.write_bytes(data)
    return path


def read(path: Path, file_format: str | None = None) -> list[tuple[int, object]]:
    with EventFile(path, file_format) as source:  # type: ignore[arg-type]
        return list(source.events())


@pytest.mark.parametrize(
    ("name", "expected"),
    [("a.csv", "csv"), ("a.CSV.gz", "csv"), ("a.jsonl", "jsonl"), ("a.ndjson.gz", "jsonl")],
)
def test_format_from_the_file_name(name: str, expected: str) -> None:
    assert detect_format(Path(name)) == expected


def test_unknown_suffix_says_how_to_choose() -> None:
    with pytest.raises(EventFileError, match=r"pass --format csv\|jsonl"):
        detect_format(Path("events.txt"))


CSV = """transaction_id,subscription_id,metric,timestamp,quantity,prop.region,prop.tier
t1,sub-1,api_calls,2026-11-10T10:00:00Z,12.5,eu,gold
t2,sub-1,api_calls,2026-11-10T10:00:01Z,,,
t3,sub-1,api_calls
t4,sub-1,storage_gb,1795168800,3,us,
"""


@pytest.mark.parametrize("name", ["events.csv", "events.csv.gz"])
def test_csv_rows_become_events_and_short_rows_are_bad_lines(tmp_path: Path, name: str) -> None:
    rows = read(write(tmp_path / name, CSV))
    assert rows == [
        (2, {"transaction_id": "t1", "subscription_id": "sub-1", "metric": "api_calls",
             "timestamp": "2026-11-10T10:00:00Z", "quantity": "12.5",
             "properties": {"region": "eu", "tier": "gold"}}),
        (3, {"transaction_id": "t2", "subscription_id": "sub-1", "metric": "api_calls",
             "timestamp": "2026-11-10T10:00:01Z"}),
        (4, BadLine("expected 7 fields as in the header, got 3")),
        (5, {"transaction_id": "t4", "subscription_id": "sub-1", "metric": "storage_gb",
             "timestamp": "1795168800", "quantity": "3", "properties": {"region": "us"}}),
    ]  # fmt: skip


def test_csv_properties_column_holds_json(tmp_path: Path) -> None:
    text = (
        "transaction_id,customer_id,metric,timestamp,properties\n"
        't1,acme,api_calls,2026-11-10T10:00:00Z,"{""status"": 200, ""ok"": true}"\n'
        "t2,acme,api_calls,2026-11-10T10:00:00Z,{oops\n"
    )
    rows = read(write(tmp_path / "e.csv", text))
    assert rows[0] == (
        2,
        {"transaction_id": "t1", "customer_id": "acme", "metric": "api_calls",
         "timestamp": "2026-11-10T10:00:00Z", "properties": {"status": 200, "ok": True}},
    )  # fmt: skip
    assert rows[1][0] == 3
    assert isinstance(rows[1][1], BadLine)
    assert rows[1][1].reason.startswith("properties is not valid JSON")


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("transaction_id,sub,metric", "line 1: unknown column 'sub'"),
        ("transaction_id,metric,metric", "line 1: a column is named twice"),
        ("transaction_id,properties,prop.a", "either a properties column or prop.<name>"),
    ],
)
def test_bad_csv_header_fails_the_file(tmp_path: Path, header: str, message: str) -> None:
    with pytest.raises(EventFileError, match=message):
        read(write(tmp_path / "e.csv", header + "\n"))


JSONL = """{"transaction_id": "t1", "subscription_id": "s", "metric": "m", "timestamp": 1}

{"transaction_id": "t2", "quantity": "1.5"
[1, 2]
{"transaction_id": "t3"}
"""


@pytest.mark.parametrize("name", ["events.jsonl", "events.jsonl.gz"])
def test_jsonl_lines_and_bad_lines_by_number(tmp_path: Path, name: str) -> None:
    rows = read(write(tmp_path / name, JSONL))
    assert [line for line, _ in rows] == [1, 3, 4, 5]
    assert rows[0][1] == {"transaction_id": "t1", "subscription_id": "s", "metric": "m",
                          "timestamp": 1}  # fmt: skip
    assert isinstance(rows[1][1], BadLine) and rows[1][1].reason.startswith("not valid JSON")
    assert rows[2][1] == BadLine("each line must be one JSON object (an event)")
    assert rows[3][1] == {"transaction_id": "t3"}


def test_format_option_overrides_the_suffix(tmp_path: Path) -> None:
    path = write(tmp_path / "events.txt", '{"transaction_id": "t1"}\n')
    assert read(path, "jsonl") == [(1, {"transaction_id": "t1"})]


def test_position_reaches_the_compressed_size(tmp_path: Path) -> None:
    path = write(tmp_path / "e.jsonl.gz", '{"transaction_id": "t"}\n' * 5000)
    with EventFile(path) as source:
        assert sum(1 for _ in source.events()) == 5000
        assert source.position == source.size == path.stat().st_size


@given(st.decimals(min_value=0, max_value=Decimal("999999999999999.999999999"), places=9))
def test_quantities_split_into_units_and_nanos_and_back_exactly(quantity: Decimal) -> None:
    """Every accepted quantity is stored exactly, whichever way it was written."""
    for written in (quantity, f"{quantity:f}", str(quantity)):
        units, nanos = parse_quantity(written)
        assert 0 <= nanos < 10**9
        assert join_quantity(units, nanos) == quantity
