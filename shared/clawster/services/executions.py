"""Starting workflow executions (Step Functions). Which state machine runs which action, where their
ARNs come from (CLAWSTER_STATE_MACHINES, set by CDK and by the local stack), and the execution's
name: the request id, so a start repeated for one request is the same execution, never a second one.
"""

from __future__ import annotations

import json
import os
import threading
from typing import Any

from clawster.domain.bots import Workflow
from clawster.errors import Unavailable

ENV = "CLAWSTER_STATE_MACHINES"  # JSON: {"provision": arn, "lifecycle": arn, ...}

MACHINE_OF: dict[Workflow, str] = {
    Workflow.PROVISION: "provision",
    Workflow.RESTART: "lifecycle", Workflow.PAUSE: "lifecycle", Workflow.RESUME: "lifecycle",
    Workflow.STOP: "lifecycle", Workflow.START: "lifecycle",
    Workflow.UPGRADE: "upgrade",
    Workflow.APPLY: "apply",
    Workflow.DELETE: "deprovision",
}

_client: Any = None
_lock = threading.Lock()


class WorkflowsUnavailable(Unavailable):
    code = "WORKFLOWS_UNAVAILABLE"


def state_machine_arn(action: Workflow) -> str:
    return state_machine_arn_of(MACHINE_OF[action], action.value)


def state_machine_arn_of(machine: str, purpose: str | None = None) -> str:
    """The ARN of statemachines/<machine>.asl.json as deployed here."""
    try:
        return json.loads(os.environ[ENV])[machine]
    except (KeyError, ValueError):
        raise WorkflowsUnavailable(f"no state machine for '{purpose or machine}' is deployed here ({ENV})") from None


def machine_arn(name: str) -> str:
    """A state machine by its file's name (e.g. "rollout": statemachines/rollout.asl.json)."""
    try:
        return json.loads(os.environ[ENV])[name]
    except (KeyError, ValueError):
        raise WorkflowsUnavailable(f"no state machine '{name}' is deployed here ({ENV})") from None


def machine_substitution(name: str) -> str:
    """How a workflow names the ARN of statemachines/<name>.asl.json, a child it starts (CDK and the local stack
    substitute it): rollout-wave -> `${RolloutWaveMachine}`."""
    return "".join(part.capitalize() for part in name.split("-")) + "Machine"


def execution_arn(machine_arn: str, name: str) -> str:
    return machine_arn.replace(":stateMachine:", ":execution:") + f":{name}"


def start(machine_arn: str, name: str, state: dict[str, Any]) -> str:
    """Start (or find, when this name already ran with this input) the execution; returns its ARN."""
    import botocore.exceptions

    try:
        return _stepfunctions().start_execution(stateMachineArn=machine_arn, name=name,
                                                input=json.dumps(state))["executionArn"]
    except botocore.exceptions.ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ExecutionAlreadyExists":
            return execution_arn(machine_arn, name)  # a retry of this request's start: the first one runs
        raise WorkflowsUnavailable(f"could not start the workflow: {error}") from None
    except botocore.exceptions.BotoCoreError as error:
        raise WorkflowsUnavailable(f"could not reach Step Functions: {error}") from None


def stop(execution_arn: str, cause: str) -> bool:
    """Stop an execution (the stuck-work sweeper's); False when there is none by that ARN. Stopping one that
    has already ended changes nothing on AWS; either way its bot's writes are conditioned on its request."""
    import botocore.exceptions

    try:
        _stepfunctions().stop_execution(executionArn=execution_arn, error="Clawster.DeadlinePassed",
                                        cause=cause[:32768])
        return True
    except botocore.exceptions.ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("ExecutionDoesNotExist", "ResourceNotFound"):
            return False
        raise WorkflowsUnavailable(f"could not stop the workflow: {error}") from None
    except botocore.exceptions.BotoCoreError as error:
        raise WorkflowsUnavailable(f"could not reach Step Functions: {error}") from None


_GONE = ("InvalidToken", "TaskDoesNotExist", "TaskTimedOut")


def answer_task(token: str, output: dict[str, Any]) -> bool:
    """SendTaskSuccess for a task waiting on its callback token (the rollout's approval step); False when no
    task waits on it any more (its execution ended, or the step timed out and re-armed with a new token). The
    token is never put in an error or log line: it is secret-grade."""
    import botocore.exceptions

    try:
        _stepfunctions().send_task_success(taskToken=token, output=json.dumps(output))
        return True
    except botocore.exceptions.ClientError as error:
        code = error.response.get("Error", {}).get("Code")
        if code in _GONE:
            return False
        raise WorkflowsUnavailable(f"could not answer the workflow's waiting step: {code}") from None
    except botocore.exceptions.BotoCoreError as error:
        raise WorkflowsUnavailable(f"could not reach Step Functions: {type(error).__name__}") from None


def _stepfunctions() -> Any:
    global _client
    with _lock:
        if _client is None:
            import boto3

            _client = boto3.client("stepfunctions")
        return _client
