"""Dunning ladders: execution order inside a step, outcome after a step, validation."""

import pytest

from billing.dunning import (
    DunningAction,
    DunningLadder,
    DunningStep,
    after_step,
    ordered_actions,
    validate_ladder,
)

A = DunningAction
DAY_S = 86_400


def ladder(*steps: DunningStep) -> DunningLadder:
    return DunningLadder(code="standard", version=2, steps=steps)


STANDARD = ladder(
    DunningStep("reminder", 0, (A.EMAIL_NOTICE, A.RETRY_PAYMENT), "dunning/reminder"),
    DunningStep("warning", 3 * DAY_S, (A.SMS_NOTICE, A.RETRY_PAYMENT, A.EMAIL_NOTICE), "warn"),
    DunningStep("suspend", 7 * DAY_S, (A.EMAIL_NOTICE, A.SUSPEND_SUBSCRIPTIONS), "suspended"),
    DunningStep(
        "final", 14 * DAY_S, (A.EMAIL_NOTICE, A.WRITE_OFF, A.CANCEL_SUBSCRIPTIONS), "final"
    ),
)


def test_action_values_are_stable() -> None:
    assert [action.value for action in DunningAction] == [
        "retry_payment",
        "email_notice",
        "sms_notice",
        "suspend_subscriptions",
        "cancel_subscriptions",
        "write_off",
    ]


@pytest.mark.parametrize(
    ("actions", "expected"),
    [
        ((A.EMAIL_NOTICE, A.RETRY_PAYMENT), (A.RETRY_PAYMENT, A.EMAIL_NOTICE)),
        (
            (A.SMS_NOTICE, A.EMAIL_NOTICE, A.WRITE_OFF, A.CANCEL_SUBSCRIPTIONS, A.RETRY_PAYMENT),
            (A.RETRY_PAYMENT, A.CANCEL_SUBSCRIPTIONS, A.WRITE_OFF, A.EMAIL_NOTICE, A.SMS_NOTICE),
        ),
        (
            (A.CANCEL_SUBSCRIPTIONS, A.SUSPEND_SUBSCRIPTIONS),
            (A.SUSPEND_SUBSCRIPTIONS, A.CANCEL_SUBSCRIPTIONS),
        ),
        ((A.EMAIL_NOTICE, A.EMAIL_NOTICE), (A.EMAIL_NOTICE,)),
        ((), ()),
    ],
)
def test_ordered_actions_collect_first_and_notify_last(
    actions: tuple[DunningAction, ...], expected: tuple[DunningAction, ...]
) -> None:
    assert ordered_actions(DunningStep("step", 0, actions, "t")) == expected


@pytest.mark.parametrize(
    ("step_index", "payment_succeeded", "expected"),
    [
        (0, True, "resolved"),
        (0, False, "next"),
        (2, False, "next"),
        (3, False, "exhausted"),
        (3, True, "resolved"),
    ],
)
def test_after_step(step_index: int, payment_succeeded: bool, expected: str) -> None:
    assert after_step(STANDARD, step_index, payment_succeeded) == expected


@pytest.mark.parametrize("step_index", [-1, 4])
def test_after_step_refuses_a_step_outside_the_ladder(step_index: int) -> None:
    with pytest.raises(IndexError, match="has 4 steps"):
        after_step(STANDARD, step_index, payment_succeeded=False)


def test_a_valid_ladder_has_no_problems() -> None:
    assert validate_ladder(STANDARD) == []


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ((), "ladder standard v2: has no steps"),
        (
            (DunningStep("retry", -5, (A.RETRY_PAYMENT,), None),),
            "step 0 ('retry'): wait_s is -5; it must be >= 0",
        ),
        (
            (
                DunningStep("early", 0, (A.WRITE_OFF,), None),
                DunningStep("late", DAY_S, (A.RETRY_PAYMENT,), None),
            ),
            "step 0 ('early'): write_off is only allowed in the last step",
        ),
        (
            (
                DunningStep("retry", 0, (A.RETRY_PAYMENT,), None),
                DunningStep("retry", DAY_S, (A.RETRY_PAYMENT,), None),
            ),
            "step name 'retry' is used 2 times",
        ),
        (
            (DunningStep("notice", 0, (A.SMS_NOTICE,), None),),
            "step 0 ('notice'): sms_notice needs a template",
        ),
        (
            (DunningStep("notice", 0, (A.EMAIL_NOTICE, A.RETRY_PAYMENT), ""),),
            "email_notice needs a template",
        ),
    ],
)
def test_validate_ladder_names_each_problem(steps: tuple[DunningStep, ...], message: str) -> None:
    problems = validate_ladder(ladder(*steps))
    assert len(problems) == 1
    assert message in problems[0]


def test_validate_ladder_reports_every_problem() -> None:
    broken = ladder(
        DunningStep("a", -1, (A.WRITE_OFF, A.EMAIL_NOTICE), None),
        DunningStep("a", 0, (A.RETRY_PAYMENT,), None),
    )
    assert len(validate_ladder(broken)) == 4
