"""The CDK app synthesizes offline, and its template holds exactly what the catalog and schema say.

One synthesis per module (≈5 s); variants (a schedule trigger, a deliberate cdk-nag violation) get
their own small synthesis so the checks are shown to be able to fail.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from aws_cdk import aws_s3 as s3

from clawster.store import schema
from clawster_infra import DEFAULT_OUTDIR, build_app
from clawster_infra.app import STACK_NAME
from clawster_infra.stack import TriggerNotDeployable
from functions.catalog import FUNCTIONS, Function, Schedule, WebSocketRoute

REPO = Path(__file__).resolve().parents[2]
CFN_LINT = str(Path(sys.executable).parent / "cfn-lint")


def synth(outdir: Path, functions: tuple[Function, ...] = FUNCTIONS) -> dict:
    build_app(str(outdir), functions).synth()
    return json.loads((outdir / f"{STACK_NAME}.template.json").read_text())


@pytest.fixture(scope="module")
def out(tmp_path_factory) -> Path:
    """The real entry point (`python infra-cdk/app.py`, what cdk.json runs), into a temporary folder."""
    outdir = tmp_path_factory.mktemp("cdk.out")
    env = {**os.environ, "CDK_OUTDIR": str(outdir)}
    result = subprocess.run([sys.executable, str(REPO / "infra-cdk" / "app.py")], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    return outdir


@pytest.fixture(scope="module")
def template(out) -> dict:
    return json.loads((out / f"{STACK_NAME}.template.json").read_text())


def resources(template: dict, kind: str) -> dict[str, dict]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == kind}


def function_ids(template: dict) -> dict[str, str]:
    """catalog name -> logical id of its Lambda function."""
    return {
        r["Properties"]["FunctionName"].removeprefix("clawster-"): k
        for k, r in resources(template, "AWS::Lambda::Function").items()
    }


def test_every_catalog_function_is_in_the_template_with_its_settings(template):
    lambdas = resources(template, "AWS::Lambda::Function")
    ids = function_ids(template)
    assert set(ids) == {f.name for f in FUNCTIONS}
    for spec in FUNCTIONS:
        props = lambdas[ids[spec.name]]["Properties"]
        assert props["Handler"] == spec.handler
        assert props["Runtime"] == "python3.11"
        assert props["Architectures"] == ["arm64"]
        assert props["MemorySize"] == spec.memory_mb
        assert props["Timeout"] == spec.timeout_s
        assert props["TracingConfig"] == {"Mode": "Active"}
        assert props["Environment"]["Variables"]["TABLE_NAME"] == {"Ref": _table_id(template)}
        assert len(props["Layers"]) == 1


def _table_id(template: dict) -> str:
    (table_id,) = resources(template, "AWS::DynamoDB::GlobalTable")
    return table_id


def _route_paths(template: dict) -> dict[str, str]:
    """logical id of each API resource -> its full path, rebuilt from PathPart/ParentId."""
    api_resources = resources(template, "AWS::ApiGateway::Resource")

    def path(logical_id: str) -> str:
        props = api_resources[logical_id]["Properties"]
        parent = props["ParentId"]
        prefix = path(parent["Ref"]) if "Ref" in parent else ""
        return f"{prefix}/{props['PathPart']}"

    return {k: path(k) for k in api_resources}


def _method_index(template: dict) -> dict[tuple[str, str], dict]:
    paths = _route_paths(template)
    index = {}
    for method in resources(template, "AWS::ApiGateway::Method").values():
        props = method["Properties"]
        resource = props["ResourceId"]
        path = paths[resource["Ref"]] if "Ref" in resource else "/"
        index[(props["HttpMethod"], path)] = props
    return index


def test_every_route_has_its_method_integration_and_authorizer(template):
    methods = _method_index(template)
    ids = function_ids(template)
    (authorizer_id,) = resources(template, "AWS::ApiGateway::Authorizer")
    routes = [(f, r) for f in FUNCTIONS for r in f.rest_routes]
    assert set(methods) == {(r.method, r.path) for _, r in routes}
    for spec, route in routes:
        props = methods[(route.method, route.path)]
        integration = props["Integration"]
        assert integration["Type"] == "AWS_PROXY"
        assert ids[spec.name] in json.dumps(integration["Uri"]), f"{route.path} is not wired to {spec.name}"
        if route.public:
            assert props["AuthorizationType"] == "NONE"
        else:
            assert props["AuthorizationType"] == "COGNITO_USER_POOLS", (route.method, route.path)
            assert props["AuthorizerId"] == {"Ref": authorizer_id}


def test_the_authorizer_uses_the_user_pool(template):
    (pool_id,) = resources(template, "AWS::Cognito::UserPool")
    (authorizer,) = resources(template, "AWS::ApiGateway::Authorizer").values()
    assert authorizer["Properties"]["Type"] == "COGNITO_USER_POOLS"
    assert {"Fn::GetAtt": [pool_id, "Arn"]} in authorizer["Properties"]["ProviderARNs"]
    pool = resources(template, "AWS::Cognito::UserPool")[pool_id]["Properties"]
    assert pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    assert pool["MfaConfiguration"] == "ON"


def test_gateway_errors_use_the_api_error_shape(template):
    bodies = {
        r["Properties"]["ResponseType"]: r["Properties"]
        for r in resources(template, "AWS::ApiGateway::GatewayResponse").values()
    }
    unauthorized = bodies["UNAUTHORIZED"]
    assert unauthorized["StatusCode"] == "401"
    body = json.loads(unauthorized["ResponseTemplates"]["application/json"])
    assert body["code"] == "UNAUTHORIZED" and body["details"] == {} and body["message"]
    assert bodies["MISSING_AUTHENTICATION_TOKEN"]["StatusCode"] == "404"
    for props in bodies.values():
        assert '"code":' in props["ResponseTemplates"]["application/json"]


def test_the_table_matches_the_schema(template):
    table = resources(template, "AWS::DynamoDB::GlobalTable")[_table_id(template)]
    props = table["Properties"]
    assert table["DeletionPolicy"] == "Retain"
    assert props["KeySchema"] == [
        {"AttributeName": schema.HASH, "KeyType": "HASH"},
        {"AttributeName": schema.RANGE, "KeyType": "RANGE"},
    ]
    gsis = {g["IndexName"]: g for g in props["GlobalSecondaryIndexes"]}
    assert set(gsis) == set(schema.INDEXES)
    for name, (pk, sk, projection) in schema.INDEXES.items():
        assert [k["AttributeName"] for k in gsis[name]["KeySchema"]] == [pk, sk]
        assert gsis[name]["Projection"]["ProjectionType"] == projection
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["TimeToLiveSpecification"] == {"AttributeName": schema.TTL_ATTRIBUTE, "Enabled": True}
    assert props["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    (replica,) = props["Replicas"]
    assert replica["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert replica["DeletionProtectionEnabled"] is True


def _statements(template: dict):
    for logical_id, policy in resources(template, "AWS::IAM::Policy").items():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            yield logical_id, policy, statement


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def test_no_policy_grants_a_wildcard_action(template):
    for logical_id, _, statement in _statements(template):
        for action in _as_list(statement["Action"]):
            assert "*" not in action, f"{logical_id} grants {action}"


def test_each_function_role_holds_exactly_its_catalog_table_actions(template):
    table_id = _table_id(template)
    lambdas = resources(template, "AWS::Lambda::Function")
    ids = function_ids(template)
    for spec in FUNCTIONS:
        role_id = lambdas[ids[spec.name]]["Properties"]["Role"]["Fn::GetAtt"][0]
        granted = set()
        for _, policy, statement in _statements(template):
            if {"Ref": role_id} not in policy["Properties"]["Roles"] or table_id not in json.dumps(statement["Resource"]):
                continue
            granted |= set(_as_list(statement["Action"]))
            resources_text = json.dumps(statement["Resource"])
            assert "/index/*" not in resources_text
            for index in schema.INDEXES:
                assert f"/index/{index}" in resources_text
        assert granted == set(spec.table_actions), spec.name


def test_cdk_nag_passes_and_every_acknowledgment_has_a_reason(out, template):
    report = json.loads((out / "validation-report.json").read_text())
    assert all(p.get("conclusion") != "failure" for p in report["pluginReports"])
    acknowledged = [
        rule
        for r in template["Resources"].values()
        for rule in r.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", [])
    ]
    assert acknowledged, "the acknowledgments are not written into the template"
    for rule in acknowledged:
        assert rule["id"].startswith("AwsSolutions-")
        assert len(rule["reason"]) >= 20, rule


def test_cdk_nag_fails_synthesis_on_an_unacknowledged_finding(tmp_path):
    app = build_app(str(tmp_path))
    stack = app.node.find_child(STACK_NAME)
    s3.Bucket(stack, "UnloggedBucket")  # no access logs, no SSL enforcement: AwsSolutions-S1/S10
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()


def test_cfn_lint_accepts_the_template(out):
    result = subprocess.run(
        [CFN_LINT, "--ignore-checks", "W3005", "--", str(out / f"{STACK_NAME}.template.json")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_samconfig_points_sam_at_the_synthesized_template():
    config = tomllib.loads((REPO / "samconfig.toml").read_text())
    expected = (DEFAULT_OUTDIR / f"{STACK_NAME}.template.json").relative_to(REPO).as_posix()
    commands = ("build", "validate", "local_invoke", "local_start_api")
    assert {config["default"][c]["parameters"]["template_file"] for c in commands} == {expected}
    cdk_json = json.loads((REPO / "cdk.json").read_text())
    assert Path(REPO / cdk_json["output"]).resolve() == DEFAULT_OUTDIR


def test_a_schedule_trigger_becomes_an_events_rule(tmp_path):
    job = Function(name="job-probe", handler="functions.api.meta.handler", triggers=(Schedule("rate(5 minutes)"),))
    template = synth(tmp_path, FUNCTIONS + (job,))
    (rule,) = resources(template, "AWS::Events::Rule").values()
    assert rule["Properties"]["ScheduleExpression"] == "rate(5 minutes)"
    (target,) = rule["Properties"]["Targets"]
    assert function_ids(template)["job-probe"] in json.dumps(target["Arn"])


def test_an_unwired_trigger_type_refuses_to_synthesize(tmp_path):
    ws = Function(name="ws-probe", handler="functions.api.meta.handler", triggers=(WebSocketRoute("$connect"),))
    with pytest.raises(TriggerNotDeployable, match="ws-probe"):
        build_app(str(tmp_path), FUNCTIONS + (ws,))
