"""Time-of-day and weekday bands of a rate table, in the table's timezone.

A band is a set of weekly windows. A window starts on each of its `days` at `start_min`
(minutes after local midnight) and ends at `end_min`; an end at or before the start crosses
midnight into the next day (Sunday rolls over to Monday); 1440 means midnight at the end of the
day. The windows of all bands must cover the week exactly once, minute by minute.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_MIN = 1440
WEEK_MIN = 7 * DAY_MIN
_CACHE_LIMIT = 200_000  # minutes (about 4.6 months) of memoised band look-ups per table


@dataclass(frozen=True)
class BandWindow:
    days: tuple[str, ...]
    start_min: int
    end_min: int  # <= start_min crosses midnight; 1440 is the end of the day

    def week_minutes(self) -> list[int]:
        """Minutes of the week (Monday 00:00 = 0) this window covers."""
        length = self.end_min - self.start_min
        if length <= 0:
            length += DAY_MIN
        minutes: list[int] = []
        for day in self.days:
            first = DAYS.index(day) * DAY_MIN + self.start_min
            minutes += [(first + m) % WEEK_MIN for m in range(length)]
        return minutes


@dataclass(frozen=True)
class Band:
    code: str
    windows: tuple[BandWindow, ...]


def hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def week_time(week_minute: int) -> str:
    """'tue 08:00' for a minute of the week."""
    return f"{DAYS[week_minute // DAY_MIN]} {hhmm(week_minute % DAY_MIN)}"


BandIssue = tuple[tuple[int, int] | None, str]  # ((band index, window index) or None, message)


def coverage_issues(bands: Sequence[Band]) -> list[BandIssue]:
    """Windows with bad days/times, overlapping windows, and the gaps left in the week."""
    owner: list[tuple[int, int] | None] = [None] * WEEK_MIN
    issues: list[BandIssue] = []
    for b, band in enumerate(bands):
        for w, window in enumerate(band.windows):
            problem = _window_problem(window)
            if problem:
                issues.append(((b, w), problem))
                continue
            issues += _claim(owner, bands, (b, w), window)
    gaps = _runs([m for m, who in enumerate(owner) if who is None])
    if gaps and len(gaps) < WEEK_MIN:
        shown = ", ".join(f"{week_time(a)} to {week_time((b + 1) % WEEK_MIN)}" for a, b in gaps[:5])
        more = f" and {len(gaps) - 5} more" if len(gaps) > 5 else ""
        issues.append((None, f"the bands leave gaps in the week: {shown}{more}; add windows"))
    return issues


def _window_problem(window: BandWindow) -> str | None:
    unknown = [d for d in window.days if d not in DAYS]
    if unknown or not window.days:
        return f"days must be among {', '.join(DAYS)}, got {list(window.days)}"
    if len(set(window.days)) != len(window.days):
        return f"a day is listed twice in {list(window.days)}"
    if not (0 <= window.start_min < DAY_MIN and 0 <= window.end_min <= DAY_MIN):
        return "start must be within 00:00-23:59 and end within 00:00-24:00"
    if window.start_min == window.end_min % DAY_MIN and window.end_min != DAY_MIN:
        return (
            f"start and end are both {hhmm(window.start_min)}: an empty window"
            " (for a whole day write start 00:00, end 24:00)"
        )
    return None


def _claim(
    owner: list[tuple[int, int] | None],
    bands: Sequence[Band],
    at: tuple[int, int],
    window: BandWindow,
) -> list[BandIssue]:
    clashes: dict[tuple[int, int], int] = {}
    for minute in window.week_minutes():
        other = owner[minute]
        if other is None:
            owner[minute] = at
        elif other not in clashes:
            clashes[other] = minute
    return [
        (
            at,
            f"overlaps band {bands[ob].code!r} windows[{ow}] from {week_time(first)}:"
            " every minute of the week belongs to exactly one band",
        )
        for (ob, ow), first in clashes.items()
    ]


def _runs(minutes: list[int]) -> list[tuple[int, int]]:
    """Consecutive minutes as (first, last) runs; a run over Sunday midnight is one run."""
    runs: list[tuple[int, int]] = []
    for m in minutes:
        if runs and runs[-1][1] == m - 1:
            runs[-1] = (runs[-1][0], m)
        else:
            runs.append((m, m))
    if len(runs) > 1 and runs[0][0] == 0 and runs[-1][1] == WEEK_MIN - 1:
        runs = [(runs[-1][0], runs[0][1]), *runs[1:-1]]
    return runs


class BandClock:
    """Which band an instant falls in, in the table's timezone (memoised per minute)."""

    def __init__(self, bands: Sequence[Band], timezone: str) -> None:
        issues = coverage_issues(bands)
        if issues:
            raise ValueError("; ".join(message for _, message in issues))
        self.codes = tuple(band.code for band in bands)
        self._zone = ZoneInfo(timezone)
        self._of_week_minute = [0] * WEEK_MIN
        for b, band in enumerate(bands):
            for window in band.windows:
                for minute in window.week_minutes():
                    self._of_week_minute[minute] = b
        self.memo: dict[int, int] = {}

    def band_index(self, at_s: int) -> int:
        """The index (into `codes`) of the band of the epoch second `at_s`."""
        key = at_s // 60
        found = self.memo.get(key)
        if found is not None:
            return found
        local = datetime.fromtimestamp(key * 60, self._zone)
        index = self._of_week_minute[local.weekday() * DAY_MIN + local.hour * 60 + local.minute]
        if len(self.memo) >= _CACHE_LIMIT:
            self.memo.clear()
        self.memo[key] = index
        return index
