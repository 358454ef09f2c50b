"""`o2c usage import FILE`: stream a CSV or JSONL file (optionally .gz) through the ingest
path in batches, with a progress bar and a final report; and `o2c api` (uvicorn).

Exit code 0 when every valid event is stored (duplicates and late events included), 1 when some
events were rejected or conflicting, 2 when the file cannot be read at all.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

from models.config_loader import ConfigError, load_config
from models.db import Database, migrate
from models.usage_files import BadLine, EventFile, EventFileError, FileFormat
from models.usage_ingest import IngestPolicy, IngestResult, UsageIngestor
from models.usage_settle import settle_usage
from settings import PROJECT_ROOT, Settings

DEFAULT_BATCH_SIZE = 10_000
SHOWN_ERRORS = 20


@dataclass
class ImportReport:
    """Totals of one import; `errors` keeps the first `keep` problems as (line, reason)."""

    keep: int = SHOWN_ERRORS
    events: int = 0
    accepted: int = 0
    duplicate: int = 0
    conflict: int = 0
    rejected: int = 0
    late: int = 0
    settled: int | None = None  # events moved into usage_events at the end (None: not settled)
    errors: list[tuple[int, str]] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return 1 if self.rejected or self.conflict else 0

    def add(self, result: IngestResult, lines: list[int], bad: list[tuple[int, str]]) -> None:
        """One batch: its ingest result (indexes -> `lines`) and its unreadable lines."""
        self.events += result.total + len(bad)
        self.accepted += result.accepted
        self.duplicate += result.duplicate
        self.conflict += result.conflict
        self.rejected += result.rejected + len(bad)
        self.late += result.late
        problems = [(lines[p.index], p.reason) for p in [*result.errors, *result.conflicts]]
        for line, reason in sorted(problems + bad):
            self._note(line, reason)

    def _note(self, line: int, reason: str) -> None:
        if len(self.errors) < self.keep:
            self.errors.append((line, reason))

    def lines(self) -> Iterator[str]:
        yield (
            f"events: {self.events}  accepted: {self.accepted}  duplicates: {self.duplicate}"
            f"  conflicts: {self.conflict}  rejected: {self.rejected}  late: {self.late}"
        )
        if self.settled is not None:
            yield f"settled: {self.settled} events are in usage_events, ready for billing"
        if self.late:
            yield (
                f"{self.late} late events are in usage periods already invoiced: they are billed"
                " as adjustments on the next invoice"
            )
        problems = self.rejected + self.conflict
        if problems:
            shown = f" (first {len(self.errors)})" if problems > len(self.errors) else ""
            yield f"problems{shown}:"
            for line, reason in self.errors:
                yield f"line {line}: {reason}"


def import_file(
    ingestor: UsageIngestor,
    path: Path,
    file_format: FileFormat | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    console: Console | None = None,
    keep_errors: int = SHOWN_ERRORS,
) -> ImportReport:
    """Import every event of `path` through the bulk path (`UsageIngestor.ingest_stream`: a
    batch is validated while the previous one is written); memory stays bounded by two
    batches."""
    report = ImportReport(keep=keep_errors)
    with EventFile(path, file_format) as source, _progress(console) as progress:
        task = progress.add_task(path.name, total=source.size)
        sent: deque[_Batch] = deque()

        def batches() -> Iterator[list[object]]:
            batch = _Batch()
            for line, event in source.events():
                batch.append(line, event)
                if len(batch.events) >= batch_size:
                    sent.append(batch)
                    yield batch.events
                    batch = _Batch()
                    progress.update(task, completed=source.position)
            if batch.events or batch.bad:
                sent.append(batch)
                yield batch.events

        for result in ingestor.ingest_stream(batches()):
            done = sent.popleft()
            report.add(result, done.lines, done.bad)
        progress.update(task, completed=source.size)
    return report


@dataclass
class _Batch:
    """Events of the next batch with their line numbers, and the unreadable lines among them
    (reported together, in line order)."""

    events: list[object] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    bad: list[tuple[int, str]] = field(default_factory=list)

    def append(self, line: int, event: dict[str, object] | BadLine) -> None:
        if isinstance(event, BadLine):
            self.bad.append((line, event.reason))
        else:
            self.events.append(event)
            self.lines.append(line)


def _progress(console: Console | None) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=console is None,
        transient=False,
    )


def run_import(
    settings: Settings,
    path: Path,
    file_format: FileFormat | None,
    batch_size: int,
    settle: bool = True,
) -> int:
    """The `o2c usage import` command: returns its exit code. With `settle`, the imported
    events are settled into usage_events before it returns (else the next reader does it)."""
    err = Console(stderr=True)
    try:
        config = load_config(settings.config_dir, PROJECT_ROOT / "templates")
    except ConfigError as exc:
        problems = len(exc.problems)
        err.print(
            f"[red]error:[/] invalid configuration ({problems} problems); run `o2c config check`",
            highlight=False,
            soft_wrap=True,
        )
        return 2
    migrate(settings.effective_database_url)
    db = Database(settings.effective_database_url)
    policy = IngestPolicy.from_config(
        config, settings.usage_late_window_days, settings.usage_future_tolerance_s
    )
    try:
        report = import_file(UsageIngestor(db, policy), path, file_format, batch_size, err)
        if settle:
            report.settled = settle_usage(db)
    except (EventFileError, UnicodeDecodeError, OSError) as exc:
        err.print(f"[red]error:[/] {path}: {exc}", highlight=False, soft_wrap=True)
        return 2
    finally:
        db.dispose()
    out = Console()
    for line in report.lines():
        out.print(line, highlight=False, markup=False, soft_wrap=True)
    return report.exit_code
