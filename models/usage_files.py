"""Streaming readers of usage event files: CSV and JSONL, optionally gzipped (`.gz`).

Each reader yields `(line number, event)`; a line that cannot be read as an event yields a
`BadLine` with the reason instead, and reading goes on. Nothing is held beyond the current line.

CSV: a header row naming the columns `transaction_id`, `subscription_id` and/or `customer_id`,
`metric`, `timestamp`, optional `quantity`, and properties either as one `properties` column
holding a JSON object or as `prop.<name>` columns (string values; empty cells are left out).
JSONL: one JSON object per line with the fields of `POST /v1/events`; blank lines are skipped.
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

import orjson

FileFormat = Literal["csv", "jsonl"]
CSV_COLUMNS = ("transaction_id", "subscription_id", "customer_id", "metric", "timestamp")
CSV_OPTIONAL = ("quantity", "properties")
PROPERTY_PREFIX = "prop."


@dataclass(frozen=True, slots=True)
class BadLine:
    reason: str


class EventFileError(ValueError):
    """The file as a whole cannot be read (unknown format, bad CSV header)."""


def detect_format(path: Path) -> FileFormat:
    name = path.name.lower().removesuffix(".gz")
    if name.endswith(".csv"):
        return "csv"
    if name.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    raise EventFileError(
        f"{path.name}: cannot tell the format from the name; use a .csv or .jsonl suffix"
        " (optionally .gz) or pass --format csv|jsonl"
    )


class EventFile:
    """An event file opened for streaming; `position` is how many (compressed) bytes were
    read, for a progress bar against `size`."""

    def __init__(self, path: Path, file_format: FileFormat | None = None) -> None:
        self.path = path
        self.format: FileFormat = file_format or detect_format(path)
        self.size = path.stat().st_size
        self._raw: BinaryIO = path.open("rb")
        self._stream: BinaryIO = (
            gzip.GzipFile(fileobj=self._raw, mode="rb")  # type: ignore[assignment]
            if path.name.lower().endswith(".gz")
            else self._raw
        )

    @property
    def position(self) -> int:
        return self._raw.tell()

    def __enter__(self) -> EventFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._stream.close()
        self._raw.close()

    def events(self) -> Iterator[tuple[int, dict[str, object] | BadLine]]:
        if self.format == "csv":
            return read_csv(self._stream)
        return read_jsonl(self._stream)


def read_jsonl(stream: BinaryIO) -> Iterator[tuple[int, dict[str, object] | BadLine]]:
    for line_no, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            value = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            yield line_no, BadLine(f"not valid JSON: {exc}")
            continue
        if isinstance(value, dict):
            yield line_no, value
        else:
            yield line_no, BadLine("each line must be one JSON object (an event)")


def read_csv(stream: BinaryIO) -> Iterator[tuple[int, dict[str, object] | BadLine]]:
    text = io.TextIOWrapper(stream, encoding="utf-8", newline="")
    reader = csv.reader(text)
    header = next(reader, None)
    if header is None:
        return
    columns = _columns(header)
    width = len(columns)
    for row in reader:
        if not row or row == [""]:
            continue
        if len(row) != width:
            yield (
                reader.line_num,
                BadLine(f"expected {width} fields as in the header, got {len(row)}"),
            )
            continue
        yield reader.line_num, _event_of_row(columns, row)


def _columns(header: list[str]) -> list[str]:
    known = set(CSV_COLUMNS) | set(CSV_OPTIONAL)
    columns = [name.strip() for name in header]
    for name in columns:
        if name not in known and not (name.startswith(PROPERTY_PREFIX) and len(name) > 5):
            raise EventFileError(
                f"line 1: unknown column {name!r}; columns are {', '.join(CSV_COLUMNS)},"
                f" quantity, properties (a JSON object) or prop.<name>"
            )
    if len(set(columns)) != len(columns):
        raise EventFileError("line 1: a column is named twice in the header")
    if "properties" in columns and any(c.startswith(PROPERTY_PREFIX) for c in columns):
        raise EventFileError("line 1: use either a properties column or prop.<name> columns")
    return columns


def _event_of_row(columns: list[str], row: list[str]) -> dict[str, object] | BadLine:
    event: dict[str, object] = {}
    properties: dict[str, object] = {}
    for name, cell in zip(columns, row, strict=True):
        if cell == "":
            continue
        if name.startswith(PROPERTY_PREFIX):
            properties[name[len(PROPERTY_PREFIX) :]] = cell
        elif name == "properties":
            try:
                event["properties"] = orjson.loads(cell)
            except orjson.JSONDecodeError as exc:
                return BadLine(f"properties is not valid JSON: {exc}")
        else:
            event[name] = cell
    if properties:
        event["properties"] = properties
    return event
