"""Make moto's Step Functions run a child workflow (`arn:aws:states:::states:startExecution.sync:2`), as the
rollout workflow does once per wave (written for moto 5.2.5).

moto's interpreter (ported from LocalStack) calls Step Functions through boto3 with the parameters as the ASL
spells them (`StateMachineArn`, `Input`, `Name`) and reads the answers as LocalStack's own clients give them
(`ExecutionArn`, `Status`, ...). boto3 wants `stateMachineArn` and answers `executionArn`, so every such task
failed with `States.Runtime: 'StateMachineArn'`. The fix, kept to this one integration: parameter names
go to boto3's spelling, and answers come back in the ASL's (PascalCase, dates as ISO text: what AWS puts in
a `.sync:2` task's result), so the task's output has the shape it has on AWS.
"""

from __future__ import annotations

import datetime
from typing import Any

PATCHED_FOR = "5.2.5"  # tests/local/test_moto_stepfunctions.py fails when the pin moves: re-check the patch

_installed = False


def install() -> None:
    global _installed
    if _installed:
        return
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sfn import (
        StateTaskServiceSfn,
    )

    normalise_parameters = StateTaskServiceSfn._normalise_parameters
    normalise_response = StateTaskServiceSfn._normalise_response
    eval_service_task = StateTaskServiceSfn._eval_service_task

    def parameters_for_boto3(self: Any, parameters: dict, boto_service_name: str | None = None,
                             service_action_name: str | None = None) -> None:
        normalise_parameters(self, parameters, boto_service_name, service_action_name)
        for key in list(parameters):
            parameters[key[:1].lower() + key[1:]] = parameters.pop(key)

    def response_for_asl(self: Any, response: Any, boto_service_name: str | None = None,
                         service_action_name: str | None = None) -> None:
        normalise_response(self, response, boto_service_name, service_action_name)
        _pascal_case(response)

    def service_task(self: Any, env: Any, *args: Any, **kwargs: Any) -> None:
        eval_service_task(self, env, *args, **kwargs)
        _pascal_case(env.stack[-1])  # StartExecution's answer, read by the .sync resolvers as ExecutionArn

    StateTaskServiceSfn._normalise_parameters = parameters_for_boto3
    StateTaskServiceSfn._normalise_response = response_for_asl
    StateTaskServiceSfn._eval_service_task = service_task
    _installed = True


def _pascal_case(answer: Any) -> None:
    if not isinstance(answer, dict):
        return
    for key in list(answer):
        value = answer.pop(key)
        answer[key[:1].upper() + key[1:]] = value.isoformat() if isinstance(value, datetime.datetime) else value
