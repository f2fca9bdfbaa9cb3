"""The workflows in the local stack: each statemachines/*.asl.json created in moto's Step Functions
(which executes it) with the same substitutions CDK makes, so the ASL that runs locally is the file
that deploys. Task ARNs point at the catalog's StepFunctionsTask functions in moto's Lambda, which the
in-process hook (lambda_runtime.py) runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

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


def definition(path: Path) -> str:
    text = path.read_text()
    for key, value in substitutions().items():
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
            sfn.update_state_machine(stateMachineArn=existing[machine], definition=definition(path))
            arns[name] = existing[machine]
        else:
            arns[name] = sfn.create_state_machine(name=machine, definition=definition(path),
                                                  roleArn=role)["stateMachineArn"]
    return arns
