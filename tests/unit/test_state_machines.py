"""The workflows' ASL: valid for a real validator (npm asl-validator, installed by `make setup`), loadable by
moto's Step Functions, and wired to the one error taxonomy (functions/errors.py names the errors)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from functions.errors import PERMANENT, RETRYABLE

ROOT = Path(__file__).resolve().parents[2]
MACHINES = sorted((ROOT / "statemachines").glob("*.asl.json"))
VALIDATOR = ROOT / ".runtime/asl-validator/node_modules/.bin/asl-validator"
LAMBDA_RETRIES = {"Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException",
                  "Lambda.TooManyRequestsException"}


def validate(path: Path) -> subprocess.CompletedProcess:
    assert VALIDATOR.exists(), "asl-validator is missing: run `make setup` (scripts/install_asl_validator.sh)"
    return subprocess.run([str(VALIDATOR), "--json-path", str(path)], capture_output=True, text=True, timeout=120)


def test_there_is_one_machine_per_workflow():
    assert [p.name for p in MACHINES] == ["apply.asl.json", "deprovision.asl.json", "lifecycle.asl.json",
                                          "provision.asl.json", "rollout-wave.asl.json", "rollout.asl.json",
                                          "rotate.asl.json", "upgrade.asl.json"]


@pytest.mark.parametrize("path", MACHINES, ids=lambda p: p.stem)
def test_the_validator_accepts_each_machine(path):
    run = validate(path)
    assert run.returncode == 0, run.stdout + run.stderr


def test_the_validator_refuses_a_dangling_next(tmp_path):
    broken = json.loads(MACHINES[0].read_text())
    broken["States"]["Begin"]["Next"] = "NoSuchState"
    (tmp_path / "broken.asl.json").write_text(json.dumps(broken))
    assert validate(tmp_path / "broken.asl.json").returncode != 0


def tasks(definition: dict) -> list[tuple[str, dict]]:
    """Every Task, also those inside a Map's ItemProcessor."""
    found = []
    for name, state in definition["States"].items():
        if state["Type"] == "Task":
            found.append((name, state))
        if state["Type"] == "Map":
            found += tasks(state["ItemProcessor"])
    return found


ROLLOUT_MACHINES = {"rollout.asl.json", "rollout-wave.asl.json"}  # their tasks are the rollout task's steps
CHILD_WORKFLOW = "arn:aws:states:::states:startExecution.sync:2"
# Starting a child execution: throttled or unreachable Step Functions is retried; a child that failed is not.
CHILD_RETRIES = {"StepFunctions.ExecutionLimitExceededException", "StepFunctions.SdkClientException",
                 "StepFunctions.AWSStepFunctionsException"}

# The rollout's failure paths: a bot's step ends that bot (BotFailed), a rollout step ends the rollout (Fail).
FAILURE_PATHS = {"RecordFailure": ("RecordFailure", "Rollback"),
                 "RolloutWorkflowTask": ("Fail", "BotFailed", "UndoBotFailed")}
FINAL = {"RecordFailure", "Fail", "BotFailed", "UndoBotFailed"}  # the failure paths themselves end in a Fail or Succeed state
TIMED_OUT_TO = {"AwaitApproval": "NextWave"}  # callback steps with a timeout: where it goes


@pytest.mark.parametrize("path", MACHINES, ids=lambda p: p.stem)
def test_every_task_retries_retryable_errors_with_backoff_and_catches_the_rest(path):
    definition = json.loads(path.read_text())
    for name, state in tasks(definition):
        retried = {e for r in state["Retry"] for e in r["ErrorEquals"]}
        rollout = path.name in ROLLOUT_MACHINES
        if state["Resource"] == CHILD_WORKFLOW:  # a rollout's wave, in a child execution of rollout-wave
            assert path.name == "rollout.asl.json" and retried == CHILD_RETRIES, name
            assert state["Parameters"]["StateMachineArn"] == "${RolloutWaveMachine}", name
            assert [c["Next"] for c in state["Catch"]] == ["Fail"], name  # a failed wave ends the rollout FAILED
            continue
        assert retried == {RETRYABLE} | LAMBDA_RETRIES, name
        assert all(r["BackoffRate"] > 1 and r["MaxAttempts"] >= 3 for r in state["Retry"]), name
        assert PERMANENT not in retried, name  # a permanent error is never retried
        function = state["Parameters"]["FunctionName"]
        assert function == ("${RolloutWorkflowTask}" if rollout else "${BotWorkflowTask}"), name
        if name not in FINAL:
            catch = state["Catch"]
            if name in TIMED_OUT_TO:  # a callback step's timeout is caught first, and goes back to read again
                assert catch[0] == {"ErrorEquals": ["States.Timeout"], "ResultPath": None, "Next": TIMED_OUT_TO[name]}
                catch = catch[1:]
            assert [c["ErrorEquals"] for c in catch] == [["States.ALL"]], name
            assert catch[0]["Next"] in FAILURE_PATHS["RolloutWorkflowTask" if rollout else "RecordFailure"], name


def test_the_approval_is_a_callback_step_with_a_timeout_that_re_reads_the_rollout():
    """The approval waits on its task token (approve/abort answer it), not on a poll; its timeout goes back to
    NextWave, which re-arms it while the rollout still awaits an approval; no heartbeat (a person sends none)."""
    states = json.loads((ROOT / "statemachines/rollout.asl.json").read_text())["States"]
    step = states["AwaitApproval"]
    assert step["Resource"] == "arn:aws:states:::lambda:invoke.waitForTaskToken"
    assert step["Parameters"]["Payload"]["token.$"] == "$$.Task.Token"
    assert step["Parameters"]["Payload"]["step"] == "await_approval"
    assert 60 <= step["TimeoutSeconds"] <= 24 * 3600 and "HeartbeatSeconds" not in step
    assert step["ResultPath"] is None and step["Next"] == "NextWave"  # the control's answer decides nothing itself
    assert {"Variable": "$.action", "StringEquals": "approval", "Next": "AwaitApproval"} in states["WhatNext"]["Choices"]


@pytest.mark.parametrize("path", MACHINES, ids=lambda p: p.stem)
def test_every_wait_loop_goes_through_a_task_that_can_end_it(path):
    """A Wait is always followed by a check task (it raises a permanent error past the deadline)."""
    definition = json.loads(path.read_text())
    scopes = [definition["States"]] + [s["ItemProcessor"]["States"] for s in definition["States"].values()
                                       if s["Type"] == "Map"]
    for states in scopes:
        for name, state in states.items():
            if state["Type"] == "Wait":
                assert states[state["Next"]]["Type"] == "Task", name
                step = states[state["Next"]]["Parameters"]["Payload"]["step"]
                # The rollout's hold (paused) goes back to next_wave, which reads the status.
                assert step.startswith("check_") or step == "next_wave", name


def test_the_local_stack_deploys_each_machine_with_its_substitutions(stack):
    """The stack's moto holds every machine, its task ARNs substituted (moto's global backends are shared
    with the stack: no moto decorator mode here, leaving it would wipe them)."""
    sfn = stack._client("stepfunctions")
    assert set(stack.state_machines) == {p.name.removesuffix(".asl.json") for p in MACHINES}
    for name, arn in stack.state_machines.items():
        definition = sfn.describe_state_machine(stateMachineArn=arn)["definition"]
        assert "${" not in definition, name
        task = "task-rollout-workflow" if name.startswith("rollout") else "task-bot-workflow"
        assert f":function:{task}" in definition, name
