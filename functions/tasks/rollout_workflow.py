"""The task Lambda of the rollout workflow (statemachines/rollout.asl.json): one step per invocation, named
by the state machine in `step`; each takes the state (the rollout's, or one bot's inside the wave's Map) and
returns it with its additions. The work is in clawster.services.rollout_run; a bot's config apply is run here,
inline (functions/tasks/inline_apply.py). Errors leave as Step Functions error names (functions/errors.py):
retryable ones are retried by the ASL with backoff."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError
from pynamodb.exceptions import PynamoDBConnectionError

from clawster.errors import ClawsterError, PermanentError, Unavailable
from clawster.services import rollout_run, stream
from functions.errors import task_failure
from functions.tasks import inline_apply


def _run_inline(step: Callable[[dict[str, Any]], dict[str, Any]]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A bot step whose answer hands over an apply (`inline`) runs it: here when it is fresh, and then the bot's
    outcome is read at once (check_bot); by its durable execution when a task that ran it before died."""
    def run(state: dict[str, Any]) -> dict[str, Any]:
        with stream.one_burst():  # one bot's messages, seconds apart: its topics' subscribers looked up once
            answer = step(state)
            inline = answer.pop("inline", None)
            if inline is None:
                return answer
            if inline["fresh"] and inline_apply.drive(inline["workflow"]):
                settled = rollout_run.check_bot(answer)
                settled.pop("inline", None)
                return settled
            if not inline["fresh"]:
                inline_apply.hand_over(inline["workflow"])
            return answer

    return run


STEPS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "next_wave": rollout_run.next_wave,
    "start_bot": _run_inline(rollout_run.start_bot),
    "check_bot": _run_inline(rollout_run.check_bot),
    "check_bake": rollout_run.bake,
    "evaluate": rollout_run.evaluate,
    "rollback_plan": rollout_run.rollback_plan,
    "finish": rollout_run.finish,
    "fail_bot": rollout_run.fail_bot,
    "fail": rollout_run.fail,
}


# Steps of a waitForTaskToken state: they also get the step's callback token (`token`, never logged).
CALLBACK_STEPS: dict[str, Callable[[dict[str, Any], str], dict[str, Any]]] = {
    "await_approval": rollout_run.await_approval,
}


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    step = event.get("step", "")
    if step not in STEPS and step not in CALLBACK_STEPS:
        raise task_failure(PermanentError(f"unknown rollout step {step!r}", {"known": sorted({*STEPS, *CALLBACK_STEPS})}))
    try:
        if step in CALLBACK_STEPS:
            return CALLBACK_STEPS[step](dict(event["state"]), str(event["token"]))
        return STEPS[step](dict(event["state"]))
    except ClawsterError as error:
        raise task_failure(error) from error
    except (PynamoDBConnectionError, BotoCoreError) as error:  # the table or an AWS API did not answer: try again
        raise task_failure(Unavailable(f"{type(error).__name__}: {error}")) from error
