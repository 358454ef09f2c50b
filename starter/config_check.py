"""`o2c config check`: validate config/ and print every problem, one per line."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from models.config_loader import check_config, load_config


def run_config_check(
    config_dir: Path, templates_dir: Path | None = None, *, console: Console | None = None
) -> int:
    """Print each problem and a summary line; return the exit code (0 valid, 1 problems)."""
    out = console or Console(highlight=False, soft_wrap=True)
    problems = check_config(config_dir, templates_dir)
    for problem in problems:
        out.print(str(problem), markup=False, style="red")
    if problems:
        files = len({p.file for p in problems})
        out.print(
            f"config check: {len(problems)} problem(s) in {files} file(s)",
            markup=False,
            style="bold red",
        )
        return 1
    snapshot = load_config(config_dir, templates_dir)
    counts = (
        f"{len(snapshot.catalogs)} catalog(s), {len(snapshot.ladders)} dunning ladder(s),"
        f" {len(snapshot.entities)} legal entity(ies)"
    )
    summary = f"config check: OK ({counts})"
    out.print(summary, markup=False, style="green")
    return 0
