"""The patched moto Step Functions (clawster.local.moto_stepfunctions) runs a child workflow with
`startExecution.sync:2` as AWS does: the parent waits for the child, takes its result in the ASL's shape, and
fails its task (States.TaskFailed, catchable) when the child fails. Through a real moto server over HTTP."""

from __future__ import annotations

import json
import time

import boto3
import moto
import pytest

from clawster.local import moto_stepfunctions

CEILING_S = 120


@pytest.fixture(scope="module")
def sfn():
    from moto.server import ThreadedMotoServer

    moto_stepfunctions.install()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    port = server.get_host_and_port()[1]
    mp = pytest.MonkeyPatch()
    mp.setenv("MOTO_PORT", str(port))  # where moto's interpreter calls Step Functions back
    url = f"http://127.0.0.1:{port}"
    import urllib.request

    request = urllib.request.Request(f"{url}/moto-api/config", method="POST",
                                     data=json.dumps({"stepfunctions": {"execute_state_machine": True}}).encode())
    urllib.request.urlopen(request, timeout=10).close()
    client = boto3.client("stepfunctions", endpoint_url=url, region_name="us-east-1",
                          aws_access_key_id="test", aws_secret_access_key="test")
    yield client
    mp.undo()
    server.stop()


def _machine(sfn, name: str, definition: dict) -> str:
    return sfn.create_state_machine(name=name, definition=json.dumps(definition),
                                    roleArn="arn:aws:iam::123456789012:role/states")["stateMachineArn"]


def _parent(sfn, name: str, child_arn: str) -> str:
    return _machine(sfn, name, {"StartAt": "Child", "States": {
        "Child": {"Type": "Task", "Resource": "arn:aws:states:::states:startExecution.sync:2",
                  "Parameters": {"StateMachineArn": child_arn, "Name.$": "$.name", "Input": {"n.$": "$.n"}},
                  "ResultPath": "$.child",
                  "Catch": [{"ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.error", "Next": "Caught"}],
                  "End": True},
        "Caught": {"Type": "Pass", "End": True}}})


def _ended(sfn, arn: str) -> dict:
    deadline = time.monotonic() + CEILING_S
    while time.monotonic() < deadline:
        described = sfn.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING":
            return described
        time.sleep(0.05)
    pytest.fail(f"{arn} still RUNNING after {CEILING_S} s")


def test_the_pin_is_the_version_the_patch_was_written_for():
    assert moto.__version__ == moto_stepfunctions.PATCHED_FOR


def test_a_parent_waits_for_its_child_and_takes_its_result(sfn):
    child = _machine(sfn, "double", {"StartAt": "Double", "States": {
        "Double": {"Type": "Pass", "Parameters": {"doubled.$": "States.MathAdd($.n, $.n)"}, "End": True}}})
    parent = _parent(sfn, "parent-ok", child)
    run = sfn.start_execution(stateMachineArn=parent, input=json.dumps({"n": 21, "name": "kid-ok"}))
    ended = _ended(sfn, run["executionArn"])
    assert ended["status"] == "SUCCEEDED", ended
    result = json.loads(ended["output"])["child"]
    # What AWS gives a .sync:2 task: the child's DescribeExecution, PascalCase, its output as JSON.
    assert result["Status"] == "SUCCEEDED" and result["Output"] == {"doubled": 42} and result["Input"] == {"n": 21}
    assert result["ExecutionArn"].endswith(":execution:double:kid-ok") and isinstance(result["StartDate"], str)
    children = sfn.list_executions(stateMachineArn=child)["executions"]
    assert [c["name"] for c in children] == ["kid-ok"] and children[0]["status"] == "SUCCEEDED"


def test_a_failed_child_fails_the_parents_task(sfn):
    child = _machine(sfn, "refuse", {"StartAt": "No", "States": {"No": {"Type": "Fail", "Error": "Nope",
                                                                        "Cause": "refused"}}})
    parent = _parent(sfn, "parent-caught", child)
    run = sfn.start_execution(stateMachineArn=parent, input=json.dumps({"n": 1, "name": "kid-fails"}))
    ended = _ended(sfn, run["executionArn"])
    assert ended["status"] == "SUCCEEDED", ended  # through the Catch
    error = json.loads(ended["output"])["error"]
    assert error["Error"] == "States.TaskFailed" and json.loads(error["Cause"])["Status"] == "FAILED"
