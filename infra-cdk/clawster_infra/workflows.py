"""The workflows on AWS: one Step Functions state machine per statemachines/*.asl.json, the same file the
local stack runs in moto, with each `${Substitution}` set to the ARN of the catalog function whose
StepFunctionsTask trigger names it. Functions that start workflows (catalog `starts_workflows`) may
start exactly these machines and find their ARNs in CLAWSTER_STATE_MACHINES."""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from clawster.services.executions import ENV, machine_substitution
from functions.catalog import Function, StepFunctionsTask

from .nag import acknowledge

STATE_MACHINES = Path(__file__).resolve().parents[2] / "statemachines"


def make_workflows(scope: Construct, specs: tuple[Function, ...], functions: dict[str, lambda_.Function],
                   *, tracing: bool) -> dict[str, sfn.StateMachine]:
    substitutions: dict[str, str] = {}
    tasks: list[lambda_.Function] = []
    for spec in specs:
        for trigger in spec.triggers:
            if isinstance(trigger, StepFunctionsTask):
                substitutions[trigger.substitution] = functions[spec.name].function_arn
                tasks.append(functions[spec.name])
    stack = cdk.Stack.of(scope)
    names = [path.name.removesuffix(".asl.json") for path in sorted(STATE_MACHINES.glob("*.asl.json"))]
    # A machine names a child machine it starts (`${<Name>Machine}`) by the ARN its fixed name gives: no reference.
    built = {name: stack.format_arn(service="states", resource="stateMachine", resource_name=f"clawster-{name}",
                                    arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME) for name in names}
    substitutions |= {machine_substitution(name): arn for name, arn in built.items()}
    machines: dict[str, sfn.StateMachine] = {}
    for path in sorted(STATE_MACHINES.glob("*.asl.json")):
        name = path.name.removesuffix(".asl.json")
        cid = "".join(part.capitalize() for part in name.split("-"))
        log_group = logs.LogGroup(scope, f"{cid}WorkflowLogs", retention=logs.RetentionDays.ONE_MONTH,
                                  removal_policy=cdk.RemovalPolicy.RETAIN)
        machine = sfn.StateMachine(
            scope, f"{cid}Workflow",
            state_machine_name=f"clawster-{name}",
            definition_body=sfn.DefinitionBody.from_file(str(path)),
            definition_substitutions=substitutions,
            # Execution data stays out of the logs: states carry ids, never secrets, but keep it lean.
            logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=False),
            tracing_enabled=tracing,
        )
        # Exactly the task functions, not their versions or aliases (grant_invoke would add ":*").
        machine.add_to_role_policy(iam.PolicyStatement(actions=["lambda:InvokeFunction"],
                                                       resources=[fn.function_arn for fn in tasks]))
        acknowledge(machine, "AwsSolutions-IAM5[Resource::*]",
                    "Step Functions log delivery (logs:*LogDelivery, DescribeResourcePolicies) and X-Ray support "
                    "no resource-level permissions")
        if not tracing:
            acknowledge(machine, "AwsSolutions-SF2", "X-Ray is opt-in for the whole stack (-c tracing=true)")
        _may_run_children(machine, path.read_text(), built)
        machines[name] = machine
    arns = stack.to_json_string({name: m.state_machine_arn for name, m in machines.items()})
    # A task function that starts workflows (the rollout's starts each bot's apply) cannot name the machines by
    # reference: each machine already names it (its substitution), a cycle. It gets their ARNs built from
    # their fixed names instead (`built`): the same ARNs, no reference.
    for spec in specs:
        if spec.starts_workflows:
            fn = functions[spec.name]
            is_task = any(isinstance(t, StepFunctionsTask) for t in spec.triggers)
            fn.add_environment(ENV, stack.to_json_string(built) if is_task else arns)
            fn.add_to_role_policy(iam.PolicyStatement(
                actions=["states:StartExecution"],
                resources=list(built.values()) if is_task else [m.state_machine_arn for m in machines.values()]))
        if spec.answers_workflow_tasks:  # a callback step's answer: by built ARN (the task function would be a cycle)
            functions[spec.name].add_to_role_policy(iam.PolicyStatement(
                actions=["states:SendTaskSuccess"], resources=[built[m] for m in spec.answers_workflow_tasks]))
        if spec.stops_workflows:  # the sweeper: StopExecution on these machines' executions, nothing else
            fn = functions[spec.name]
            fn.add_to_role_policy(iam.PolicyStatement(actions=["states:StopExecution"], resources=[
                stack.format_arn(service="states", resource="execution",
                                 resource_name=f"{m.state_machine_name}:*", arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME)
                for m in machines.values()]))
            for machine in machines.values():
                logical_id = stack.get_logical_id(machine.node.default_child)
                acknowledge(fn.role, "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:"
                                f"<AWS::AccountId>:execution:<{logical_id}.Name>:*]",
                            "an execution's ARN ends with its name, known only at run time: the sweeper stops the "
                            "executions of these state machines only")
    return machines


def _may_run_children(machine: sfn.StateMachine, definition: str, built: dict[str, str]) -> None:
    """A machine that runs another as a child (startExecution.sync) may start it, follow and stop its executions,
    and keep the managed rule through which Step Functions learns that a child ended."""
    children = [name for name in built if "${" + machine_substitution(name) + "}" in definition]
    if not children:
        return
    stack = cdk.Stack.of(machine)
    machine.add_to_role_policy(iam.PolicyStatement(actions=["states:StartExecution"],
                                                   resources=[built[name] for name in children]))
    machine.add_to_role_policy(iam.PolicyStatement(
        actions=["states:DescribeExecution", "states:StopExecution"],
        resources=[stack.format_arn(service="states", resource="execution", resource_name=f"clawster-{name}:*",
                                    arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME) for name in children]))
    machine.add_to_role_policy(iam.PolicyStatement(
        actions=["events:PutTargets", "events:PutRule", "events:DescribeRule"],
        resources=[stack.format_arn(service="events", resource="rule",
                                    resource_name="StepFunctionsGetEventsForStepFunctionsExecutionRule")]))
    for name in children:
        acknowledge(machine, "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:"
                             f"execution:clawster-{name}:*]",
                    "a child execution's ARN ends with its name, known only at run time: this machine follows and "
                    "stops the executions of its child machine only")
