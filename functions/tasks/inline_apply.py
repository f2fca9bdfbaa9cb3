"""A bot's apply workflow run inside the rollout task's own invocation: a rollout's bot then costs one task
invocation and no Wait state, so a wave takes about as long as its gateways do (issue 11's benchmark).

It is the apply workflow itself, not a copy: the steps of statemachines/apply.asl.json (functions/tasks/
bot_workflow.py: begin, apply_config, check_ready until RUNNING, finish; record_failure on a permanent error),
in that order, recorded under the execution name the durable workflow has (the request id). So the durable
execution can take over at any point and skips the steps already done (services/workflow.run_once): it does
when the gateway is not serving again within READY_BUDGET_S (a restart-class change), when a step fails in a
way the state machine would retry, and when the task that drove it died (a rollout step run again).
"""

from __future__ import annotations

import json
import time
from typing import Any

from botocore.exceptions import BotoCoreError
from pynamodb.exceptions import PynamoDBConnectionError

from clawster.errors import ClawsterError
from clawster.services import executions
from functions.errors import PERMANENT, RETRYABLE
from functions.tasks import bot_workflow
from layers.providers.base import GatewayState

READY_BUDGET_S = 20.0  # well inside the task's 60 s timeout, with the steps around it
READY_POLL_S = 0.1  # between describes: a hot reload is serving again in a few tens of ms


def drive(state: dict[str, Any]) -> bool:
    """Run the bot's apply; True when it ended here (the bot settled RUNNING, or ERROR with the reason),
    False when the durable execution was started to finish it."""
    execution = state["request_id"]
    current = dict(state)
    try:
        current = bot_workflow.begin(current, execution)
        current = bot_workflow.apply_config(current, execution)
        ready_by = time.monotonic() + READY_BUDGET_S
        while True:
            current = bot_workflow.check_ready(current, execution)
            if current["gateway_state"] == GatewayState.RUNNING.value:
                break
            if time.monotonic() >= ready_by:
                hand_over(state)
                return False
            time.sleep(READY_POLL_S)
        bot_workflow.finish(current, execution)
        return True
    except ClawsterError as error:
        if error.retryable:  # the state machine retries these with backoff: let it
            hand_over(state)
            return False
        # As the state machine's Catch does: the bot ends in ERROR with the reason.
        bot_workflow.record_failure(current | {"error": _caught(error)}, execution)
        return True
    except (PynamoDBConnectionError, BotoCoreError):  # the table or an AWS API did not answer: retried there
        hand_over(state)
        return False


def hand_over(state: dict[str, Any]) -> str:
    """Start the durable apply execution for this request (or find it: the name is the request id)."""
    return executions.start(executions.machine_arn("apply"), state["request_id"], state)


def _caught(error: ClawsterError) -> dict[str, str]:
    """What the state machine's Catch puts in `$.error` for this failure (functions/errors.task_failure)."""
    cause = {"code": error.code, "message": error.message, "details": error.details}
    return {"Error": RETRYABLE if error.retryable else PERMANENT, "Cause": json.dumps(cause)}
