"""The workflows in the local stack: each statemachines/*.asl.json created in moto's Step Functions
(which executes it) with the same substitutions CDK makes, so the ASL that runs locally is the file
that deploys. Task ARNs point at the catalog's StepFunctionsTask functions in moto's Lambda, which the
in-process hook (lambda_runtime.py) runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from clawster.services.executions import machine_substitution
from functions import catalog

STATE_MACHINES_DIR = Path(__file__).resolve().parents[3] / "statemachines"
SFN_ROLE = "clawster-local-states"
ACCOUNT, REGION = "123456789012", "us-east-1"


def substitutions() -> dict[str, str]:
    """`${Name}` -> the ARN of the catalog function that serves it (its StepFunctionsTask trigger)."""
    found = {}
    for function in catalog.FUNCTIONS:
        for trigger in function.triggers:
            if isinstance(trigger, catalog.StepFunctionsTask):
                found[trigger.substitution] = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function.name}"
    return found


def machine_substitutions(prefix: str = "clawster") -> dict[str, str]:
    """`${<Name>Machine}` -> the ARN of statemachines/<name>.asl.json as deployed (by its fixed name): how a
    workflow names a child workflow it starts (the rollout's per-wave executions)."""
    return {machine_substitution(path.name.removesuffix(".asl.json")):
            f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{prefix}-{path.name.removesuffix('.asl.json')}"
            for path in STATE_MACHINES_DIR.glob("*.asl.json")}


def definition(path: Path, prefix: str = "clawster") -> str:
    text = path.read_text()
    for key, value in (substitutions() | machine_substitutions(prefix)).items():
        text = text.replace("${" + key + "}", value)
    if "${" in text:
        raise RuntimeError(f"{path.name}: a substitution has no catalog function: {text[text.index('${'):][:60]}")
    return text


def deploy(iam: Any, sfn: Any, prefix: str = "clawster") -> dict[str, str]:
    """Create (or update) every state machine; returns {workflow name: state machine ARN}."""
    try:
        role = iam.create_role(RoleName=SFN_ROLE, AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"},
                           "Action": "sts:AssumeRole"}],
        }))["Role"]["Arn"]
    except iam.exceptions.EntityAlreadyExistsException:
        role = iam.get_role(RoleName=SFN_ROLE)["Role"]["Arn"]
    existing = {m["name"]: m["stateMachineArn"] for m in sfn.list_state_machines()["stateMachines"]}
    arns = {}
    for path in sorted(STATE_MACHINES_DIR.glob("*.asl.json")):
        name = path.name.removesuffix(".asl.json")
        machine = f"{prefix}-{name}"
        if machine in existing:
            sfn.update_state_machine(stateMachineArn=existing[machine], definition=definition(path, prefix))
            arns[name] = existing[machine]
        else:
            arns[name] = sfn.create_state_machine(name=machine, definition=definition(path, prefix),
                                                  roleArn=role)["stateMachineArn"]
    return arns


def with_current_keys(item: dict[str, Any]) -> dict[str, Any]:
    """A restored item with the index keys this version derives (a bot saved before the status index
    existed gets its place in it), in DynamoDB JSON."""
    from clawster.store.entities import Bot

    if item.get("entity", {}).get("S") != Bot.ENTITY or "gsi2pk" in item:
        return item
    bot = Bot.from_raw_data(item)
    bot.derive_keys()
    return bot.serialize()


def resume(state_machines: dict[str, str]) -> list[str]:
    """Start again, under the same name, every workflow a previous run of the stack left unfinished
    (its bot still in a working status, owned by its request). Steps it recorded as done are not
    repeated (services/workflow.run_once); a provider call it was in the middle of is idempotent."""
    from clawster.domain.bots import WORKING, Workflow
    from clawster.services import executions
    from clawster.services.bots import workflow_input
    from clawster.store.entities import Bot

    resumed = []
    for status in sorted(WORKING):
        for bot in Bot.in_status(status):
            intent = bot.intent.as_dict() if bot.intent else None
            if not intent:
                continue
            action = Workflow(intent["action"])
            executions.start(state_machines[executions.MACHINE_OF[action]], intent["id"], workflow_input(bot))
            resumed.append(bot.id)
    resumed += resume_rollouts(state_machines)
    return resumed


def resume_rollouts(state_machines: dict[str, str]) -> list[str]:
    """Start again, under its own name, every rollout a previous run of the stack left active: its recorded
    progress (services/rollout_run.py) makes the new execution skip the bots and waves already finished."""
    from clawster.services import executions
    from clawster.store.entities import Rollout

    resumed = []
    for listed in Rollout.active():
        rollout = Rollout.get(listed.pk, listed.sk, consistent_read=True)
        executions.start(state_machines["rollout"], rollout.id,
                         {"workspace_id": rollout.workspace_id, "rollout_id": rollout.id})
        resumed.append(rollout.id)
    return resumed


def stop_running(sfn: Any, state_machines: dict[str, str]) -> None:
    """Stop every running execution: the stack is going away, and with it the table they write to."""
    for arn in state_machines.values():
        for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=arn, statusFilter="RUNNING"):
            for execution in page["executions"]:
                sfn.stop_execution(executionArn=execution["executionArn"], cause="the local stack stopped")
