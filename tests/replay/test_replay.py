"""Replay: every history recorded by an earlier version of the workflows (tests/replay/
histories, made by tests/e2e/test_record_histories.py) replays with today's workflow code
without a non-determinism error. A change that breaks one must go behind `workflow.patched`."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from worker import WORKFLOWS

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))


def test_there_are_recorded_histories() -> None:
    names = {path.stem for path in HISTORIES}
    assert {"subscription_updates_v1", "bill_cycle_v1", "dunning_written_off_v1"} <= names


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_recorded_history_replays(path: Path) -> None:
    history = WorkflowHistory.from_json(path.stem, path.read_text(encoding="utf-8"))
    replayer = Replayer(workflows=list(WORKFLOWS), data_converter=pydantic_data_converter)
    result = await replayer.replay_workflow(history)
    assert result.replay_failure is None
