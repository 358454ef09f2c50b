"""Dunning ladder evaluation (pure).

A ladder is an ordered list of steps; each step waits, then runs its actions. Payment retries
are one action among others; whether the case is resolved, moves on or is exhausted is decided
by `after_step`. Ladders come from versioned config and are checked with `validate_ladder`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal


class DunningAction(StrEnum):
    RETRY_PAYMENT = "retry_payment"
    EMAIL_NOTICE = "email_notice"
    SMS_NOTICE = "sms_notice"
    SUSPEND_SUBSCRIPTIONS = "suspend_subscriptions"
    CANCEL_SUBSCRIPTIONS = "cancel_subscriptions"
    WRITE_OFF = "write_off"


NOTICE_ACTIONS = frozenset({DunningAction.EMAIL_NOTICE, DunningAction.SMS_NOTICE})

# Execution order inside a step: collect first, then act on the account, then write off,
# and send notices last so that they describe what happened.
_EXECUTION_RANK: dict[DunningAction, int] = {
    DunningAction.RETRY_PAYMENT: 0,
    DunningAction.SUSPEND_SUBSCRIPTIONS: 1,
    DunningAction.CANCEL_SUBSCRIPTIONS: 2,
    DunningAction.WRITE_OFF: 3,
    DunningAction.EMAIL_NOTICE: 4,
    DunningAction.SMS_NOTICE: 5,
}

StepOutcome = Literal["resolved", "next", "exhausted"]


@dataclass(frozen=True)
class DunningStep:
    name: str
    wait_s: int  # seconds to wait after the previous step (or the due date) before acting
    actions: tuple[DunningAction, ...]
    template: str | None  # notice template; required when the step sends a notice


@dataclass(frozen=True)
class DunningLadder:
    code: str
    version: int
    steps: tuple[DunningStep, ...]


def ordered_actions(step: DunningStep) -> tuple[DunningAction, ...]:
    """The step's actions in execution order, each once."""
    unique = dict.fromkeys(DunningAction(action) for action in step.actions)
    return tuple(sorted(unique, key=_EXECUTION_RANK.__getitem__))


def after_step(ladder: DunningLadder, step_index: int, payment_succeeded: bool) -> StepOutcome:
    """What follows step `step_index`: the case is resolved, moves on, or is exhausted."""
    if not 0 <= step_index < len(ladder.steps):
        raise IndexError(
            f"ladder {ladder.code} v{ladder.version} has {len(ladder.steps)} steps; "
            f"step_index {step_index} is out of range"
        )
    if payment_succeeded:
        return "resolved"
    if step_index == len(ladder.steps) - 1:
        return "exhausted"
    return "next"


def validate_ladder(ladder: DunningLadder) -> list[str]:
    """Problems with `ladder`, each naming the step and the rule broken; empty when valid."""
    where = f"ladder {ladder.code} v{ladder.version}"
    if not ladder.steps:
        return [f"{where}: has no steps; declare at least one step"]
    problems = [
        f"{where}: step name {name!r} is used {count} times; step names must be unique"
        for name, count in Counter(step.name for step in ladder.steps).items()
        if count > 1
    ]
    last_index = len(ladder.steps) - 1
    for index, step in enumerate(ladder.steps):
        problems.extend(
            _step_problems(f"{where}, step {index} ({step.name!r})", step, index == last_index)
        )
    return problems


def _step_problems(where: str, step: DunningStep, is_last: bool) -> list[str]:
    problems = []
    if step.wait_s < 0:
        problems.append(f"{where}: wait_s is {step.wait_s}; it must be >= 0")
    if DunningAction.WRITE_OFF in step.actions and not is_last:
        problems.append(f"{where}: write_off is only allowed in the last step")
    notices = sorted(NOTICE_ACTIONS.intersection(step.actions))
    if notices and not step.template:
        names = ", ".join(notices)
        problems.append(f"{where}: {names} needs a template; set the step's template")
    return problems
