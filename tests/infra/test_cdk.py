"""The CDK app synthesizes offline, and its template holds exactly what the catalog and schema say.

The real dependency layer is built once (scripts/build_deps_layer.sh caches it outside the clone,
keyed by its inputs). Two syntheses per module: the defaults, through the real entry point, and one
variant with every opt-in context value on plus one more schedule-triggered job; a deliberate cdk-nag
violation and the refusals get their own small builds so the checks are shown to be able to fail.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.metadata
import importlib.util
import json
import marshal
import os
import subprocess
import sys
import tomllib
from importlib.machinery import PathFinder
from pathlib import Path

import pytest
from aws_cdk import aws_s3 as s3
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from clawster.store import schema
from clawster_infra import DEFAULT_OUTDIR, build_app
from clawster_infra.app import FEATURE_FLAGS, STACK_NAME
from clawster_infra.code_bundle import DepsLayerNotBuilt, deps_layer_dir, staged_function_code
from clawster_infra.console import BUILD_COMMAND, ConsoleNotBuilt, console_dist_dir
from clawster_infra.gateways import GatewayOptionInvalid, GatewayOptions
from clawster_infra.options import StackOptions
from clawster_infra.stack import TriggerNotDeployable
from clawster_infra.stream_api import StreamApiInvalid
from clawster_infra.users import AUTH_DOMAIN_CONTEXT, AuthDomainInvalid
from functions.catalog import (
    FUNCTIONS,
    Function,
    Schedule,
    WebSocketRoute,
    schedule_input,
    schedule_name,
    websocket_routes,
)
from tests.third_party_imports import third_party_imports_of

REPO = Path(__file__).resolve().parents[2]
CFN_LINT = str(Path(sys.executable).parent / "cfn-lint")
DRIFT_EVERY = "rate(5 minutes)"  # the variant's drift_schedule context value
CONSOLE_DIST = Path(__file__).with_name("console_dist")  # a stand-in for the web console's build (console/dist)
AUTH_PREFIX = "acme-ops-console"  # the variant's auth_domain_prefix context value
JOB = Function(name="job-probe", handler="functions.api.meta.handler", triggers=(Schedule("rate(5 minutes)"),),
               posts_to_connections=True)  # a publisher to the stream API, as the status producers are


def synth(outdir: Path, functions: tuple[Function, ...] = FUNCTIONS, **kwargs) -> dict:
    build_app(str(outdir), functions, console_dist=CONSOLE_DIST, **kwargs).synth()
    return json.loads((outdir / f"{STACK_NAME}.template.json").read_text())


@pytest.fixture(scope="module")
def deps_layer() -> Path:
    """The real layer for requirements/runtime.txt (pip + compileall the first time, then from the cache)."""
    build = subprocess.run([str(REPO / "scripts" / "build_deps_layer.sh")], capture_output=True, text=True, timeout=1800)
    assert build.returncode == 0, build.stdout[-2000:] + build.stderr[-3000:]
    return deps_layer_dir()


@pytest.fixture(scope="module")
def out(tmp_path_factory, deps_layer) -> Path:
    """The real entry point (`python infra-cdk/app.py`, what cdk.json runs), into a temporary folder. The CLI hands
    it cdk.json's and `-c`'s context as CDK_CONTEXT_JSON: here one turning the app's own feature flags off, which
    the app must overrule (test_s3_delivers_..._whatever_the_cli_context)."""
    outdir = tmp_path_factory.mktemp("cdk.out")
    env = {**os.environ, "CDK_OUTDIR": str(outdir), "CLAWSTER_CONSOLE_DIST": str(CONSOLE_DIST),
           "CDK_CONTEXT_JSON": json.dumps(dict.fromkeys(FEATURE_FLAGS, False))}
    result = subprocess.run([sys.executable, str(REPO / "infra-cdk" / "app.py")], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    return outdir


@pytest.fixture(scope="module")
def template(out) -> dict:
    return json.loads((out / f"{STACK_NAME}.template.json").read_text())


@pytest.fixture(scope="module")
def variant(tmp_path_factory, deps_layer) -> dict:
    """Every opt-in on, as `cdk deploy -c tracing=true -c threat_protection=true` passes them (strings),
    and a schedule-triggered job added to the catalog; the hosted UI's domain prefix chosen."""
    context = {"tracing": "true", "threat_protection": "true", "drift_schedule": DRIFT_EVERY,
               "auth_domain_prefix": AUTH_PREFIX}
    return synth(tmp_path_factory.mktemp("cdk.variant"), FUNCTIONS + (JOB,), context=context)


def resources(template: dict, kind: str) -> dict[str, dict]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == kind}


# The one Lambda function that is not the catalog's: CDK's BucketDeployment handler, which uploads the web
# console's files at deploy time (clawster_infra.console.deploy_console).
DEPLOYMENT_HANDLER = "CustomCDKBucketDeployment"


def catalog_lambdas(template: dict) -> dict[str, dict]:
    """The catalog's Lambda functions (named clawster-<name>); anything else must be CDK's deployment handler."""
    lambdas = resources(template, "AWS::Lambda::Function")
    ours = {k: r for k, r in lambdas.items() if str(r["Properties"].get("FunctionName", "")).startswith("clawster-")}
    others = set(lambdas) - set(ours)
    assert len(others) == 1 and next(iter(others)).startswith(DEPLOYMENT_HANDLER), others
    return ours


def function_ids(template: dict) -> dict[str, str]:
    """catalog name -> logical id of its Lambda function."""
    return {
        r["Properties"]["FunctionName"].removeprefix("clawster-"): k
        for k, r in catalog_lambdas(template).items()
    }


def test_every_catalog_function_is_in_the_template_with_its_settings(template):
    lambdas = catalog_lambdas(template)
    ids = function_ids(template)
    assert set(ids) == {f.name for f in FUNCTIONS}
    for spec in FUNCTIONS:
        props = lambdas[ids[spec.name]]["Properties"]
        assert props["Handler"] == spec.handler
        assert props["Runtime"] == "python3.11"
        assert props["Architectures"] == ["arm64"]
        assert props["MemorySize"] == spec.memory_mb
        assert props["Timeout"] == spec.timeout_s
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
    methods = {key: props for key, props in _method_index(template).items() if key[0] != "OPTIONS"}  # CORS: below
    ids = function_ids(template)
    (authorizer_id,) = resources(template, "AWS::ApiGateway::Authorizer")
    routes = [(f, r) for f in FUNCTIONS for r in f.rest_routes]
    assert set(methods) == {(r.method, r.path) for _, r in routes}
    without_token = {key for key, props in methods.items() if props["AuthorizationType"] == "NONE"}
    assert without_token == {("GET", "/health"), ("GET", "/openapi.json"), ("GET", "/swagger")}  # hand-written
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


def test_api_gateway_may_invoke_each_route_function_once_and_from_this_apis_stage_only(template):
    """One invoke permission per function, naming this API's stage: not one per method (LambdaIntegration's
    default), which took 74 of the stack's 500 resources."""
    (api_id,) = resources(template, "AWS::ApiGateway::RestApi")
    (stream_id,) = resources(template, "AWS::ApiGatewayV2::Api")
    ids = function_ids(template)
    granted: dict[str, list[str]] = {}
    for props in (r["Properties"] for r in resources(template, "AWS::Lambda::Permission").values()):
        if props["Principal"] != "apigateway.amazonaws.com":
            continue
        source = _text(props["SourceArn"])
        assert f"{{{api_id}}}" in source or f"{{{stream_id}}}" in source, source  # every one names one of our APIs
        if f"{{{api_id}}}" in source:
            assert props["Action"] == "lambda:InvokeFunction"
            granted.setdefault(props["FunctionName"]["Fn::GetAtt"][0], []).append(source)
    stage = "arn:{AWS::Partition}:execute-api:{AWS::Region}:{AWS::AccountId}:" + f"{{{api_id}}}/v1/*/*"
    assert granted == {ids[spec.name]: [stage] for spec in FUNCTIONS if spec.rest_routes}


# CloudFormation's limit per stack, and the room kept under it for new routes before the stack must be split.
RESOURCE_LIMIT, RESOURCE_HEADROOM = 500, 50


@pytest.mark.parametrize("name", ["template", "ecs"])
def test_the_stack_stays_clear_of_cloudformations_resource_limit(request, name):
    found = request.getfixturevalue(name)["Resources"]
    count = len({*found, "CDKMetadata"})  # the CDK CLI adds CDKMetadata (version reporting) when it synthesizes
    assert count <= RESOURCE_LIMIT - RESOURCE_HEADROOM, f"{name}: {count} resources"


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
    """None but CDK's deployment handler, whose S3 grants (s3:GetObject*, s3:List*, ...) are CDK's own: those
    reach the CDK asset bucket (the upload's source) and the console bucket (its destination) only."""
    (console_bucket,) = [k for k in resources(template, "AWS::S3::Bucket") if k.startswith("ConsoleBucket")]
    handler_grants = 0
    for logical_id, _, statement in _statements(template):
        wildcards = [action for action in _as_list(statement["Action"]) if "*" in action]
        if not logical_id.startswith(DEPLOYMENT_HANDLER):
            assert not wildcards, f"{logical_id} grants {wildcards}"
            continue
        handler_grants += 1
        assert all(action.startswith("s3:") for action in _as_list(statement["Action"])), statement
        for resource in _as_list(statement["Resource"]):
            text = json.dumps(resource)
            assert console_bucket in text or "cdk-hnb659fds-assets-" in text, resource
    assert handler_grants


def test_each_function_role_holds_exactly_its_catalog_table_actions(template):
    table_id = _table_id(template)
    lambdas = catalog_lambdas(template)
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


def test_secrets_manager_actions_are_the_catalogs_on_the_connector_secrets_only(template):
    """Only the functions whose catalog entry names Secrets Manager actions hold them, exactly those, and only
    on the secrets named clawster/* (the connectors' and the configs' references)."""
    lambdas, ids = catalog_lambdas(template), function_ids(template)
    holders = {spec.name for spec in FUNCTIONS if spec.secret_actions}
    assert holders == {"api-connectors", "task-bot-workflow", "task-rollout-workflow"}  # the last: inline applies
    for spec in FUNCTIONS:
        role_id = lambdas[ids[spec.name]]["Properties"]["Role"]["Fn::GetAtt"][0]
        granted = set()
        for _, policy, statement in _statements(template):
            actions = {a for a in _as_list(statement["Action"]) if a.startswith("secretsmanager:")}
            if not actions or {"Ref": role_id} not in policy["Properties"]["Roles"]:
                continue
            granted |= actions
            for arn in _as_list(statement["Resource"]):
                parts = arn["Fn::Join"][1]
                assert ":secretsmanager:" in json.dumps(parts) and parts[-1] == ":secret:clawster/*", arn
        assert granted == set(spec.secret_actions), spec.name


def test_cloudwatch_alarm_reads_are_the_rollout_tasks_only(template):
    """The rollout's cloudwatch_alarm gate reads alarms (DescribeAlarms) from the rollout task: that function
    alone holds a CloudWatch action, exactly that one, on the account's alarms."""
    lambdas, ids = catalog_lambdas(template), function_ids(template)
    granted: dict[str, set[str]] = {}
    for spec in FUNCTIONS:
        role_id = lambdas[ids[spec.name]]["Properties"]["Role"]["Fn::GetAtt"][0]
        for _, policy, statement in _statements(template):
            actions = {a for a in _as_list(statement["Action"]) if a.startswith("cloudwatch:")}
            if not actions or {"Ref": role_id} not in policy["Properties"]["Roles"]:
                continue
            granted.setdefault(spec.name, set()).update(actions)
            for arn in _as_list(statement["Resource"]):
                parts = arn["Fn::Join"][1]
                assert ":cloudwatch:" in json.dumps(parts) and parts[-1] == ":alarm:*", arn
    assert granted == {"task-rollout-workflow": {"cloudwatch:DescribeAlarms"}}


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


def test_cdk_nag_fails_synthesis_on_an_unacknowledged_finding(tmp_path, deps_layer):
    app = build_app(str(tmp_path), console_dist=CONSOLE_DIST)
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


def _schedule_role_ids(template: dict) -> set[str]:
    return {r["Properties"]["Target"]["RoleArn"]["Fn::GetAtt"][0]
            for r in resources(template, "AWS::Scheduler::Schedule").values()}


def test_each_schedule_trigger_is_a_scheduler_schedule_with_a_role_limited_to_its_function(template, variant):
    assert not resources(template, "AWS::Events::Rule") and not resources(variant, "AWS::Events::Rule")
    for synthesized, specs in ((template, FUNCTIONS), (variant, FUNCTIONS + (JOB,))):
        expected = [(f, i, t) for f in specs for i, t in enumerate(f.triggers) if isinstance(t, Schedule)]
        schedules = {r["Properties"]["Name"]: r["Properties"]
                     for r in resources(synthesized, "AWS::Scheduler::Schedule").values()}
        assert set(schedules) == {schedule_name(f, i) for f, i, _ in expected}
        assert {"job-sweeper", "job-health", "job-drift"} <= {f.name for f, _, _ in expected}
        roles, ids = resources(synthesized, "AWS::IAM::Role"), function_ids(synthesized)
        for spec, index, trigger in expected:
            props = schedules[schedule_name(spec, index)]
            drift_set = synthesized is variant and spec.name == "job-drift"  # the context value's schedule
            assert props["ScheduleExpression"] == (DRIFT_EVERY if drift_set else trigger.expression)
            assert props["FlexibleTimeWindow"] == {"Mode": "OFF"} and props["State"] == "ENABLED"
            assert props["Target"]["RetryPolicy"]["MaximumRetryAttempts"] >= 1
            function_arn = {"Fn::GetAtt": [ids[spec.name], "Arn"]}
            assert props["Target"]["Arn"] == function_arn
            assert json.loads(props["Target"]["Input"]) == schedule_input(spec, index)
            role_id = props["Target"]["RoleArn"]["Fn::GetAtt"][0]
            (trust,) = roles[role_id]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
            assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
            assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
            granted = [statement for _, policy, statement in _statements(synthesized)
                       if {"Ref": role_id} in policy["Properties"]["Roles"]]
            assert granted == [{"Action": "lambda:InvokeFunction", "Effect": "Allow", "Resource": function_arn}]


def test_an_unwired_trigger_type_refuses_to_synthesize(tmp_path, deps_layer):
    @dataclasses.dataclass(frozen=True)
    class Carrier:  # a trigger kind the stack has no construct for
        name: str

    probe = Function(name="probe", handler="functions.api.meta.handler", triggers=(Carrier("pigeon"),))
    with pytest.raises(TriggerNotDeployable, match="probe"):
        build_app(str(tmp_path), FUNCTIONS + (probe,), console_dist=CONSOLE_DIST)


def test_a_stream_route_claimed_twice_refuses_to_synthesize(tmp_path, deps_layer):
    ws = Function(name="ws-probe", handler="functions.api.meta.handler", triggers=(WebSocketRoute("$connect"),))
    with pytest.raises(StreamApiInvalid, match=r"\$connect"):
        build_app(str(tmp_path), FUNCTIONS + (ws,), console_dist=CONSOLE_DIST)


# --- the stream API (WebSocket) ------------------------------------------------------------------------

def _ws_routes(template: dict) -> dict[str, dict]:
    return {r["Properties"]["RouteKey"]: r["Properties"] for r in resources(template, "AWS::ApiGatewayV2::Route").values()}


def test_the_stream_api_has_every_catalog_route_wired_to_its_function(template):
    (api_id, api), = resources(template, "AWS::ApiGatewayV2::Api").items()
    assert api["Properties"]["ProtocolType"] == "WEBSOCKET"
    assert api["Properties"]["RouteSelectionExpression"] == "$request.body.action"
    routes = _ws_routes(template)
    assert set(routes) == {route.route_key for _, route in websocket_routes()}
    assert {"$connect", "$disconnect", "$default", "subscribe", "unsubscribe"} <= set(routes)  # hand-written
    integrations = resources(template, "AWS::ApiGatewayV2::Integration")
    ids = function_ids(template)
    replying = {r["Properties"]["RouteId"]["Ref"] for r in resources(template, "AWS::ApiGatewayV2::RouteResponse").values()}
    route_ids = {r["Properties"]["RouteKey"]: k for k, r in resources(template, "AWS::ApiGatewayV2::Route").items()}
    for spec, route in websocket_routes():
        props = routes[route.route_key]
        assert props["ApiId"] == {"Ref": api_id}
        integration = integrations[props["Target"]["Fn::Join"][1][1]["Ref"]]["Properties"]
        assert integration["IntegrationType"] == "AWS_PROXY"
        assert ids[spec.name] in json.dumps(integration["IntegrationUri"]), f"{route.route_key} is not wired to {spec.name}"
        assert (route_ids[route.route_key] in replying) == route.replies, route.route_key


def test_only_connect_is_authorized_by_the_token_authorizer(template):
    (authorizer_id, authorizer), = resources(template, "AWS::ApiGatewayV2::Authorizer").items()
    props = authorizer["Properties"]
    assert props["AuthorizerType"] == "REQUEST"
    assert function_ids(template)["ws-authorizer"] in json.dumps(props["AuthorizerUri"])
    assert props.get("IdentitySource", []) == []  # the token comes from the query string or the subprotocol
    routes = _ws_routes(template)
    assert routes["$connect"]["AuthorizationType"] == "CUSTOM"
    assert routes["$connect"]["AuthorizerId"] == {"Ref": authorizer_id}
    assert all(props["AuthorizationType"] == "NONE" for key, props in routes.items() if key != "$connect")
    variables = catalog_lambdas(template)[function_ids(template)["ws-authorizer"]]["Properties"][
        "Environment"]["Variables"]
    (pool_id,) = resources(template, "AWS::Cognito::UserPool")
    assert pool_id in json.dumps(variables["TOKEN_ISSUER"]) and "cognito-idp." in json.dumps(variables["TOKEN_ISSUER"])
    # The ID tokens of both app clients (an ID token's aud is its client): the CLI's and the web console's.
    cli, console = _client_id(template, "Cli"), _client_id(template, "Console")
    assert variables["TOKEN_AUDIENCE"] == {"Fn::Join": ["", [{"Ref": cli}, ",", {"Ref": console}]]}
    assert json.dumps(variables["JWKS_URL"]).endswith('/.well-known/jwks.json"]]}')


def test_the_stream_stage_logs_no_query_string_and_no_message_bodies(template):
    (stage,) = resources(template, "AWS::ApiGatewayV2::Stage").values()
    props = stage["Properties"]
    assert props["AutoDeploy"] is True
    assert "querystring" not in props["AccessLogSettings"]["Format"].lower()  # a ?token= never reaches a log
    assert props["DefaultRouteSettings"]["DataTraceEnabled"] is False
    assert props["DefaultRouteSettings"]["ThrottlingRateLimit"] > 0


def _manage_connections_grants(template: dict) -> dict[str, list]:
    """policy logical id -> the resources it grants execute-api:ManageConnections on."""
    return {
        logical_id: _as_list(statement["Resource"])
        for logical_id, _, statement in _statements(template)
        if "execute-api:ManageConnections" in _as_list(statement["Action"])
    }


def test_only_publishers_may_manage_connections_and_only_on_this_stage(template, variant):
    publishers = [f.name for f in FUNCTIONS if f.posts_to_connections]
    assert len(_manage_connections_grants(template)) == len(publishers)
    grants = _manage_connections_grants(variant)
    assert len(grants) == len(publishers) + 1  # the job-probe publisher of the variant
    (api_id,) = resources(variant, "AWS::ApiGatewayV2::Api")
    (stage,) = resources(variant, "AWS::ApiGatewayV2::Stage").values()
    for granted in grants.values():
        text = json.dumps(granted)
        assert {"Ref": api_id} in granted[0]["Fn::Join"][1]
        assert f'"/{stage["Properties"]["StageName"]}/*/@connections/*"' in text
    probe = catalog_lambdas(variant)[function_ids(variant)[JOB.name]]["Properties"]
    endpoint = json.dumps(probe["Environment"]["Variables"]["WS_MANAGEMENT_ENDPOINT"])
    assert api_id in endpoint and endpoint.endswith('/v1"]]}')


# --- deployment options (CDK context) ---------------------------------------------------------------

def _stage(template: dict) -> dict:
    (stage,) = resources(template, "AWS::ApiGateway::Stage").values()
    return stage["Properties"]


def _xray_grants(template: dict) -> set[str]:
    """Logical ids of the policies granting any X-Ray action."""
    return {
        logical_id
        for logical_id, _, statement in _statements(template)
        if any(action.startswith("xray:") for action in _as_list(statement["Action"]))
    }


def test_tracing_is_off_by_default(template):
    for props in (r["Properties"] for r in catalog_lambdas(template).values()):
        assert props.get("TracingConfig", {}).get("Mode") != "Active", props["FunctionName"]
        assert props["Environment"]["Variables"]["POWERTOOLS_TRACE_DISABLED"] == "true"
    assert _stage(template).get("TracingEnabled") is not True
    assert not _xray_grants(template)


def test_tracing_opt_in_turns_on_xray_and_the_tracer(variant):
    lambdas = catalog_lambdas(variant)
    assert len(lambdas) == len(FUNCTIONS) + 1
    for props in (r["Properties"] for r in lambdas.values()):
        assert props["TracingConfig"] == {"Mode": "Active"}, props["FunctionName"]
        assert props["Environment"]["Variables"]["POWERTOOLS_TRACE_DISABLED"] == "false"
    assert _stage(variant)["TracingEnabled"] is True
    machines = resources(variant, "AWS::StepFunctions::StateMachine")
    assert all(m["Properties"]["TracingConfiguration"] == {"Enabled": True} for m in machines.values())
    # each function's and each state machine's own role may write its traces
    assert len(_xray_grants(variant)) == len(lambdas) + len(machines)


def test_threat_protection_is_an_option_not_the_default(template, variant):
    (default_pool,) = resources(template, "AWS::Cognito::UserPool").values()
    assert default_pool["Properties"]["UserPoolTier"] == "ESSENTIALS"
    assert "UserPoolAddOns" not in default_pool["Properties"]
    (acknowledged,) = [r for r in default_pool["Metadata"]["cdk_nag"]["rules_to_suppress"] if r["id"] == "AwsSolutions-COG8"]
    assert "threat_protection=true" in acknowledged["reason"]

    (plus_pool,) = resources(variant, "AWS::Cognito::UserPool").values()
    assert plus_pool["Properties"]["UserPoolTier"] == "PLUS"
    assert plus_pool["Properties"]["UserPoolAddOns"] == {"AdvancedSecurityMode": "ENFORCED"}
    assert "AwsSolutions-COG8" not in json.dumps(plus_pool.get("Metadata", {}))


def test_the_deploy_guide_documents_every_context_value_with_its_default():
    guide = (REPO / "docs" / "deploy.md").read_text()
    for option in dataclasses.fields(StackOptions):
        assert f"| `{option.name}` | `{str(option.default).lower()}` |" in guide, option.name


def test_a_context_value_that_is_not_true_or_false_is_refused(tmp_path, deps_layer):
    with pytest.raises(ValueError, match="tracing='on please'"):
        build_app(str(tmp_path), console_dist=CONSOLE_DIST, context={"tracing": "on please"})


def test_a_drift_schedule_that_is_not_a_schedule_expression_is_refused(tmp_path, deps_layer):
    with pytest.raises(ValueError, match="drift_schedule='every minute'"):
        build_app(str(tmp_path), console_dist=CONSOLE_DIST, context={"drift_schedule": "every minute"})


def _client_id(template: dict, name: str) -> str:
    """The logical id of the app client `name` ("Cli", "Console")."""
    (client_id,) = [k for k in resources(template, "AWS::Cognito::UserPoolClient") if k.startswith(f"Users{name}Client")]
    return client_id


def test_the_cli_client_allows_password_sign_in_for_clawster_login_and_the_aws_cli(template):
    assert len(resources(template, "AWS::Cognito::UserPoolClient")) == 2  # the CLI's and the console's
    client = resources(template, "AWS::Cognito::UserPoolClient")[_client_id(template, "Cli")]
    flows = set(client["Properties"]["ExplicitAuthFlows"])
    assert {"ALLOW_USER_PASSWORD_AUTH", "ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"} == flows
    assert client["Properties"]["GenerateSecret"] is False  # a CLI cannot keep a client secret
    # No OAuth through the hosted UI (the console's client has its own): CDK's default would allow the
    # implicit flow redirected to https://example.com.
    assert not client["Properties"].get("AllowedOAuthFlows") and not client["Properties"].get("CallbackURLs")


# --- what the Lambdas run: the dependency layer and the byte-compiled code ---------------------------

def _layer_stamp(requirements: bytes) -> dict:
    return {"requirements_sha256": hashlib.sha256(requirements).hexdigest(), "python": "3.11",
            "platform": "manylinux2014_aarch64"}


def test_synthesis_refuses_without_a_built_layer(tmp_path):
    with pytest.raises(DepsLayerNotBuilt, match="run scripts/build_deps_layer.sh"):
        build_app(str(tmp_path / "out"), deps_layer=tmp_path / "never-built", console_dist=CONSOLE_DIST)


def test_synthesis_refuses_a_layer_built_from_other_requirements(tmp_path):
    layer = tmp_path / "layer"
    (layer / "python").mkdir(parents=True)
    (layer / "clawster-deps-layer.json").write_text(json.dumps(_layer_stamp(b"pydantic==1.0\n")))
    with pytest.raises(DepsLayerNotBuilt, match="other requirements"):
        deps_layer_dir(layer)
    # The same folder stamped for today's requirements/runtime.txt is accepted.
    today = (REPO / "requirements" / "runtime.txt").read_bytes()
    (layer / "clawster-deps-layer.json").write_text(json.dumps(_layer_stamp(today)))
    assert deps_layer_dir(layer) == layer.resolve()


# What our code needs imported on its behalf: Powertools' Tracer imports the X-Ray SDK when a stage
# turns tracing on (functions/tracing.py).
INDIRECT_IMPORTS = {"aws_xray_sdk"}
_NOT_IN_LAMBDA = ("shared/clawster/local", "shared/clawster/cli", "layers/providers/local")


def _lambda_sources() -> list[Path]:
    skip = [REPO / p for p in _NOT_IN_LAMBDA]
    return [
        path
        for root in ("functions", "shared/clawster", "layers")
        for path in (REPO / root).rglob("*.py")
        if not any(path == s or path.is_relative_to(s) for s in skip)
    ]


def _in_layer(name: str, python: str) -> bool:
    """A top-level module, or a package inside a namespace package ("azure.core"), is in the layer."""
    if "." not in name:
        return PathFinder.find_spec(name, [python]) is not None
    return (Path(python, *name.split(".")) / "__init__.py").is_file()


def test_the_layer_provides_every_third_party_import_of_lambda_code(deps_layer):
    users = third_party_imports_of(_lambda_sources())
    # The scan itself is sound: it finds what we know the code imports (hand-written).
    assert {"aws_lambda_powertools", "pydantic", "pynamodb", "ulid", "websockets", "cryptography"} <= set(users)
    python = str(deps_layer / "python")
    missing = {
        name: sorted(users.get(name, ["(indirect)"]))
        for name in set(users) | INDIRECT_IMPORTS
        if not _in_layer(name, python)
    }
    assert not missing, f"imported by Lambda code but not in the dependency layer: {missing}"


def test_the_layer_holds_every_runtime_requirement_at_its_pinned_version(deps_layer):
    shipped = {
        canonicalize_name(d.metadata["Name"]): d.version
        for d in importlib.metadata.distributions(path=[str(deps_layer / "python")])
    }
    pinned = [Requirement(line) for line in (REPO / "requirements" / "runtime.txt").read_text().splitlines()
              if line.strip() and not line.startswith("#")]
    assert {"websockets", "cryptography", "aws-xray-sdk"} <= {canonicalize_name(r.name) for r in pinned}
    for requirement in pinned:
        assert requirement.specifier.contains(shipped.get(canonicalize_name(requirement.name), "0")), (requirement, shipped)


EM_AARCH64 = 183  # ELF e_machine of arm64


def test_the_layer_binaries_are_built_for_arm64(deps_layer):
    binaries = list((deps_layer / "python").rglob("*.so"))
    assert len(binaries) >= 3  # cryptography, pydantic-core, cffi at least
    for binary in binaries:
        header = binary.read_bytes()[:20]
        assert header[:4] == b"\x7fELF" and int.from_bytes(header[18:20], "little") == EM_AARCH64, binary


PY311_MAGIC = (3495).to_bytes(2, "little") + b"\r\n"  # CPython 3.11's .pyc magic number
UNCHECKED_HASH = 0b01  # PEP 552 flags: bit 0 = hash-based, bit 1 = check_source


def _assets(out: Path) -> tuple[Path, Path]:
    """(the function code, the dependency layer) as CDK staged them in the cloud assembly."""
    folders = [p for p in out.glob("asset.*") if p.is_dir()]
    (code,) = [p for p in folders if (p / "functions").is_dir()]
    (layer,) = [p for p in folders if (p / "python").is_dir()]
    return code, layer


def test_code_and_layer_ship_unchecked_hash_pyc_for_every_module(out):
    code, layer = _assets(out)
    assert (code / "clawster" / "gateway").is_dir()
    assert not any((code / "clawster" / name).exists() for name in ("local", "cli"))
    for asset, lambda_path in ((code, "/var/task"), (layer, "/opt")):
        sources = list(asset.rglob("*.py"))
        assert len(sources) > 30
        for source in sources:
            pyc = source.parent / "__pycache__" / f"{source.stem}.cpython-311.pyc"
            assert pyc.is_file(), f"{source.relative_to(asset)} has no .pyc"
            data = pyc.read_bytes()
            assert data[:4] == PY311_MAGIC, pyc
            assert int.from_bytes(data[4:8], "little") == UNCHECKED_HASH, pyc
            assert data[8:16] == importlib.util.source_hash(source.read_bytes()), f"{pyc} is stale"
            # Named as Lambda sees the file, so the bytes do not depend on where synthesis ran.
            assert marshal.loads(data[16:]).co_filename == f"{lambda_path}/{source.relative_to(asset)}"


def test_staged_code_depends_only_on_the_code(template):
    """Each synthesis byte-compiles in its own temporary folder, yet the bytes (hence the asset hash, and
    whether CloudFormation updates the functions) are the same."""

    def digest() -> dict[str, str]:
        with staged_function_code() as folder:
            return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
                    for p in folder.rglob("*") if p.is_file()}

    first, second = digest(), digest()
    assert any(name.endswith(".pyc") for name in first)
    assert first == second
    code_keys = {json.dumps(r["Properties"]["Code"]["S3Key"]) for r in catalog_lambdas(template).values()}
    assert len(code_keys) == 1  # every function runs the one bundle


def test_the_bundle_holds_every_first_party_module_the_handlers_import():
    """Each handler's import closure (functions, clawster, the providers under layers/) is in the staged bundle,
    but for the parts that never run in Lambda: a task function drives providers, so layers/ must ship."""
    from functions.catalog import FUNCTIONS
    from tests.third_party_imports import import_closure

    needed = {p for p in import_closure([f.module for f in FUNCTIONS])
              if not any(p.is_relative_to(REPO / skip) for skip in _NOT_IN_LAMBDA)}
    assert any(p.is_relative_to(REPO / "layers" / "providers") for p in needed)  # the scan reaches the providers
    with staged_function_code() as folder:
        missing = []
        for path in needed:
            relative = path.relative_to(REPO)
            shipped = folder / (relative.relative_to("shared") if relative.parts[0] == "shared" else relative)
            if not shipped.is_file():
                missing.append(str(relative))
    assert not missing, f"imported by Lambda code but not in the bundle: {sorted(missing)}"


# --- workflows (Step Functions) ---------------------------------------------------------------------

WORKFLOWS = {"provision", "lifecycle", "upgrade", "deprovision", "apply", "rotate", "rollout",
             "rollout-wave"}  # one per statemachines/*.asl.json
# A machine's name for another machine's ARN (the rollout starts a rollout-wave child per wave), written out.
MACHINE_SUBSTITUTIONS = {"ProvisionMachine": "provision", "LifecycleMachine": "lifecycle", "UpgradeMachine": "upgrade",
                         "DeprovisionMachine": "deprovision", "ApplyMachine": "apply", "RotateMachine": "rotate",
                         "RolloutMachine": "rollout", "RolloutWaveMachine": "rollout-wave"}


def _built_machine_arn(value, name: str) -> bool:
    """Is `value` the ARN CDK builds from the machine's fixed name (an Fn::Join ending in stateMachine:<name>)?"""
    return ":stateMachine:clawster-" + name in json.dumps(value) and "Ref" not in json.dumps(value).replace(
        '"Ref": "AWS::', "")


def _machines(template: dict) -> dict[str, dict]:
    """workflow name -> properties of its state machine."""
    return {r["Properties"]["StateMachineName"].removeprefix("clawster-"): r["Properties"]
            for r in resources(template, "AWS::StepFunctions::StateMachine").values()}


def test_each_workflow_is_a_state_machine_with_its_task_function_substituted(template):
    machines = _machines(template)
    assert set(machines) == WORKFLOWS
    ids = function_ids(template)
    task_id, rollout_task_id = ids["task-bot-workflow"], ids["task-rollout-workflow"]
    for name, props in machines.items():
        substitutions = dict(props["DefinitionSubstitutions"])
        assert {key: substitutions.pop(key) for key in ("BotWorkflowTask", "RolloutWorkflowTask")} == {
            "BotWorkflowTask": {"Fn::GetAtt": [task_id, "Arn"]},
            "RolloutWorkflowTask": {"Fn::GetAtt": [rollout_task_id, "Arn"]}}, name
        assert set(substitutions) == set(MACHINE_SUBSTITUTIONS), name
        for key, machine in MACHINE_SUBSTITUTIONS.items():
            assert _built_machine_arn(substitutions[key], machine), (name, key)
        logging = props["LoggingConfiguration"]
        assert logging["Level"] == "ALL" and logging["IncludeExecutionData"] is False, name


def test_the_machines_may_invoke_only_the_task_function(template):
    ids = function_ids(template)
    task_arns = [{"Fn::GetAtt": [ids[name], "Arn"]} for name in ("task-bot-workflow", "task-rollout-workflow")]
    schedule_roles = _schedule_role_ids(template)  # each may invoke its one job (the schedule test)
    invokes = [s for _, policy, s in _statements(template) if "lambda:InvokeFunction" in _as_list(s["Action"])
               and not {r["Ref"] for r in policy["Properties"]["Roles"]} & schedule_roles]
    assert len(invokes) == len(WORKFLOWS)
    for statement in invokes:
        assert _as_list(statement["Resource"]) == task_arns  # the task functions only, no ":*" versions


def test_only_functions_that_start_workflows_may_and_know_the_machines(template):
    machine_ids = set(resources(template, "AWS::StepFunctions::StateMachine"))
    lambdas, ids = catalog_lambdas(template), function_ids(template)
    starters = {f.name for f in FUNCTIONS if f.starts_workflows}
    # job-drift: a revert is the apply workflow; api-pairing: an approval is a new revision, applied;
    # api-connectors: a connector's rotation; api-rollouts: the rollout workflow; task-rollout-workflow: each
    # bot's change is its apply (or upgrade)
    assert starters == {"api-bots", "job-drift", "api-pairing", "api-connectors", "api-rollouts", "task-rollout-workflow"}
    roles = {lambdas[ids[name]]["Properties"]["Role"]["Fn::GetAtt"][0] for name in starters}
    task_role = lambdas[ids["task-rollout-workflow"]]["Properties"]["Role"]["Fn::GetAtt"][0]
    machine_roles = _machine_role_ids(template)
    for _, policy, statement in _statements(template):
        if {r["Ref"] for r in policy["Properties"]["Roles"]} <= machine_roles:
            continue  # a machine that starts its child (test_the_rollout_may_run_only_its_wave_children)
        if "states:StartExecution" in _as_list(statement["Action"]):
            assert {r["Ref"] for r in policy["Properties"]["Roles"]} <= roles
            if {r["Ref"] for r in policy["Properties"]["Roles"]} == {task_role}:
                # The rollout task names the machines by their built ARNs (a reference would be a cycle).
                built = {json.dumps(r) for r in _as_list(statement["Resource"])}
                assert len(built) == len(WORKFLOWS) and all("stateMachine:clawster-" in r for r in built)
                continue
            assert {r["Ref"] for r in _as_list(statement["Resource"])} == machine_ids
    for name, logical_id in ids.items():
        env = lambdas[logical_id]["Properties"]["Environment"]["Variables"]
        assert ("CLAWSTER_STATE_MACHINES" in env) == (name in starters), name


def _machine_role_ids(template: dict) -> set[str]:
    return {m["Properties"]["RoleArn"]["Fn::GetAtt"][0]
            for m in resources(template, "AWS::StepFunctions::StateMachine").values()}


def test_the_rollout_may_run_only_its_wave_children(template):
    """The rollout machine starts, follows and stops rollout-wave executions (startExecution.sync:2), and keeps
    the managed rule that tells it a child ended; no other machine starts any."""
    machines = resources(template, "AWS::StepFunctions::StateMachine")
    role_of = {m["Properties"]["StateMachineName"].removeprefix("clawster-"): m["Properties"]["RoleArn"]["Fn::GetAtt"][0]
               for m in machines.values()}
    granted: dict[str, list[dict]] = {}
    for _, policy, statement in _statements(template):
        actions = set(_as_list(statement["Action"]))
        if actions & {"states:StartExecution", "states:DescribeExecution", "states:StopExecution", "events:PutRule"}:
            for role in {r["Ref"] for r in policy["Properties"]["Roles"]} & set(role_of.values()):
                granted.setdefault(role, []).append(statement)
    assert set(granted) == {role_of["rollout"]}
    by_action = {a: s for s in granted[role_of["rollout"]] for a in _as_list(s["Action"])}
    assert set(by_action) == {"states:StartExecution", "states:DescribeExecution", "states:StopExecution",
                              "events:PutTargets", "events:PutRule", "events:DescribeRule"}
    start = _as_list(by_action["states:StartExecution"]["Resource"])
    assert len(start) == 1 and _built_machine_arn(start[0], "rollout-wave")
    follow = json.dumps(by_action["states:DescribeExecution"]["Resource"])
    assert ":execution:clawster-rollout-wave:*" in follow and follow.count(":execution:") == 1
    assert "rule/StepFunctionsGetEventsForStepFunctionsExecutionRule" in json.dumps(by_action["events:PutRule"])


def test_only_the_sweeper_may_stop_executions_and_only_of_the_workflows(template):
    lambdas, ids = catalog_lambdas(template), function_ids(template)
    stoppers = {f.name for f in FUNCTIONS if f.stops_workflows}
    assert stoppers == {"job-sweeper"}
    roles = {lambdas[ids[name]]["Properties"]["Role"]["Fn::GetAtt"][0] for name in stoppers}
    machine_ids = set(resources(template, "AWS::StepFunctions::StateMachine"))
    machine_roles = _machine_role_ids(template)  # the rollout stops its own children only (the test above)
    granted = [(policy, statement) for _, policy, statement in _statements(template)
               if "states:StopExecution" in _as_list(statement["Action"])
               and not {r["Ref"] for r in policy["Properties"]["Roles"]} <= machine_roles]
    assert len(granted) == 1
    policy, statement = granted[0]
    assert {r["Ref"] for r in policy["Properties"]["Roles"]} == roles
    assert _as_list(statement["Action"]) == ["states:StopExecution"]
    named = set()
    for arn in _as_list(statement["Resource"]):
        parts = arn["Fn::Join"][1]
        assert ":execution:" in json.dumps(parts) and parts[-1] == ":*", arn
        named |= {part["Fn::GetAtt"][0] for part in parts if isinstance(part, dict) and "Fn::GetAtt" in part}
    assert named == machine_ids


def test_only_the_rollout_api_and_task_may_answer_callback_steps_and_only_of_the_rollout_machine(template):
    """The approval step (waitForTaskToken): approve / abort / pause answer it from api-rollouts, and the step's
    own task answers itself when a control came first. SendTaskSuccess only; no Failure, no Heartbeat."""
    lambdas, ids = catalog_lambdas(template), function_ids(template)
    answering = {f.name for f in FUNCTIONS if f.answers_workflow_tasks}
    assert answering == {"api-rollouts", "task-rollout-workflow"}
    roles = {lambdas[ids[name]]["Properties"]["Role"]["Fn::GetAtt"][0] for name in answering}
    granted = [(policy, statement) for _, policy, statement in _statements(template)
               if any(a.startswith("states:SendTask") for a in _as_list(statement["Action"]))]
    assert {r["Ref"] for policy, _ in granted for r in policy["Properties"]["Roles"]} == roles
    for _, statement in granted:
        assert _as_list(statement["Action"]) == ["states:SendTaskSuccess"]
        resources_ = _as_list(statement["Resource"])
        # the rollout machine itself (not rollout-wave: its children wait on no callback)
        assert len(resources_) == 1 and 'stateMachine:clawster-rollout"' in json.dumps(resources_[0]), resources_


# --- the ECS target (-c ecs_target=true): the gateways' network, cluster, state and image -----------------

# Written out from layers/providers and functions/: which functions talk to gateways, and how.
GATEWAY_CLIENTS = {"api-bots": "read", "job-health": "read", "job-drift": "read",  # logs, versions; health; drift
                   "task-bot-workflow": "manage", "task-rollout-workflow": "manage"}  # the workflows; inline applies
ENI_ACTIONS = {"ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DeleteNetworkInterface",
               "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"}
READ_GATEWAYS = ENI_ACTIONS | {
    "ecs:DescribeServices", "ecs:DescribeTasks", "ecs:ListTasks", "secretsmanager:GetSecretValue",
    "secretsmanager:DescribeSecret", "logs:GetLogEvents"}
MANAGE_GATEWAYS = READ_GATEWAYS | {
    "ecs:CreateService", "ecs:UpdateService", "ecs:DeleteService", "ecs:TagResource", "ecs:RegisterTaskDefinition",
    "ecs:DeregisterTaskDefinition", "ecs:DescribeTaskDefinition", "ecs:ListTaskDefinitions",
    "iam:CreateRole", "iam:PutRolePolicy", "iam:GetRole", "iam:TagRole", "iam:DeleteRole", "iam:DeleteRolePolicy",
    "iam:PassRole", "elasticfilesystem:CreateAccessPoint", "elasticfilesystem:DescribeAccessPoints",
    "elasticfilesystem:DeleteAccessPoint", "elasticfilesystem:TagResource",
    "logs:CreateLogGroup", "logs:DeleteLogGroup", "logs:PutRetentionPolicy", "logs:TagResource", "logs:TagLogGroup",
    "logs:DescribeLogGroups", "secretsmanager:CreateSecret", "secretsmanager:PutSecretValue",
    "secretsmanager:DeleteSecret", "secretsmanager:TagResource"}
# The only actions IAM lets us grant on no resource (Resource "*").
UNSCOPABLE = ENI_ACTIONS | {"ecs:RegisterTaskDefinition", "ecs:DeregisterTaskDefinition", "ecs:DescribeTaskDefinition",
                            "ecs:ListTaskDefinitions", "ecs:ListTasks"}
# What a gateway's role can ever be allowed (its permissions boundary).
GATEWAY_BOUNDARY = {"secretsmanager:GetSecretValue", "logs:CreateLogStream", "logs:PutLogEvents",
                    "elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite", "ecr:BatchGetImage",
                    "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability", "ecr:GetAuthorizationToken"}
TAKEN = {"vpc_id": "vpc-0a1b2c3d4e5f60718", "subnet_ids": "subnet-0aaaaaaaaaaaaaaa1,subnet-0bbbbbbbbbbbbbbb2",
         "ecs_cluster": "prod-gateways", "efs_id": "fs-0123456789abcdef0", "efs_security_group_id": "sg-0fedcba987654321a"}


@pytest.fixture(scope="module")
def ecs_out(tmp_path_factory, deps_layer) -> Path:
    outdir = tmp_path_factory.mktemp("cdk.ecs")
    build_app(str(outdir), console_dist=CONSOLE_DIST, context={"ecs_target": "true"}).synth()
    return outdir


@pytest.fixture(scope="module")
def ecs(ecs_out) -> dict:
    return json.loads((ecs_out / f"{STACK_NAME}.template.json").read_text())


@pytest.fixture(scope="module")
def ecs_taken(tmp_path_factory, deps_layer) -> dict:
    """The ECS target in an existing VPC, cluster and file system, named by context."""
    return synth(tmp_path_factory.mktemp("cdk.ecs-taken"), context={"ecs_target": "true", **TAKEN})


def _env(template: dict, name: str) -> dict:
    return catalog_lambdas(template)[function_ids(template)[name]]["Properties"]["Environment"][
        "Variables"]


def _role_statements(template: dict, name: str) -> list[dict]:
    role_id = catalog_lambdas(template)[function_ids(template)[name]]["Properties"]["Role"][
        "Fn::GetAtt"][0]
    return [s for _, policy, s in _statements(template) if {"Ref": role_id} in policy["Properties"]["Roles"]]


def _gateway_actions(statements: list[dict]) -> set[str]:
    """The actions a role holds for gateways: not its own logs, not the connectors' secrets (clawster/*)."""
    held = set()
    for statement in statements:
        for action in _as_list(statement["Action"]):
            service = action.split(":")[0]
            if service in ("ecs", "iam", "elasticfilesystem", "ecr", "ec2") or (
                    service == "logs" and action not in ("logs:CreateLogStream", "logs:PutLogEvents")) or (
                    service == "secretsmanager" and "clawster/gateways/*" in json.dumps(statement["Resource"])):
                held.add(action)
    return held


def test_without_the_ecs_target_there_is_no_vpc_and_no_function_in_one(template):
    assert not resources(template, "AWS::EC2::VPC") and not resources(template, "AWS::EFS::FileSystem")
    for props in (r["Properties"] for r in catalog_lambdas(template).values()):
        assert "VpcConfig" not in props, props["FunctionName"]
        assert not any(key.startswith(("CLAWSTER_ECS", "CLAWSTER_EFS")) for key in props["Environment"]["Variables"])


def test_the_ecs_target_passes_cdk_nag_with_every_acknowledgment_reasoned(ecs_out, ecs):
    report = json.loads((ecs_out / "validation-report.json").read_text())
    assert all(p.get("conclusion") != "failure" for p in report["pluginReports"])
    rules = [(k, rule) for k, r in ecs["Resources"].items()
             for rule in r.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", [])]
    ours = [(k, rule) for k, rule in rules if rule["id"].startswith("AwsSolutions-")]
    # CDK's own VPC construct notes cfn-lint's literal-AZ warning; every other acknowledgment is ours, reasoned.
    assert {rule["id"] for _, rule in rules} - {rule["id"] for _, rule in ours} <= {
        "CloudFormation-Validate::W3010", "CloudFormation-Validate::F3002", "CloudFormation-Validate::F3003"}
    for _, rule in ours:
        assert len(rule["reason"]) >= 20, rule
    (boundary_id,) = resources(ecs, "AWS::IAM::ManagedPolicy")
    assert any(k == boundary_id and "GetAuthorizationToken" in rule["reason"] for k, rule in ours)


def test_cfn_lint_accepts_the_ecs_target_template(ecs_out):
    result = subprocess.run([CFN_LINT, "--ignore-checks", "W3005", "--", str(ecs_out / f"{STACK_NAME}.template.json")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def _private_subnets(template: dict) -> list[dict]:
    return [{"Ref": k} for k, r in resources(template, "AWS::EC2::Subnet").items()
            if r["Properties"]["MapPublicIpOnLaunch"] is False]


def _group_ids(template: dict) -> tuple[dict, dict]:
    """(the functions' group, the gateways' group) as the gateway clients' VpcConfig and env name them."""
    props = catalog_lambdas(template)[function_ids(template)["job-health"]]["Properties"]
    (clients,) = props["VpcConfig"]["SecurityGroupIds"]
    return clients, props["Environment"]["Variables"]["CLAWSTER_ECS_SECURITY_GROUP"]


def test_the_functions_that_reach_gateways_run_in_the_private_subnets_with_their_group(ecs):
    private = _private_subnets(ecs)
    assert len(private) == 2 and len(resources(ecs, "AWS::EC2::Subnet")) == 4  # 2 AZs, a public subnet each for NAT
    clients, gateways = _group_ids(ecs)
    (cluster_id,) = resources(ecs, "AWS::ECS::Cluster")
    (fs_id,) = resources(ecs, "AWS::EFS::FileSystem")
    (repo_id,) = resources(ecs, "AWS::ECR::Repository")
    (boundary_id,) = resources(ecs, "AWS::IAM::ManagedPolicy")
    lambdas, ids = catalog_lambdas(ecs), function_ids(ecs)
    assert {f.name: f.gateway_access for f in FUNCTIONS if f.gateway_access} == GATEWAY_CLIENTS
    for name, logical_id in ids.items():
        props = lambdas[logical_id]["Properties"]
        if name in GATEWAY_CLIENTS:
            assert props["VpcConfig"] == {"SecurityGroupIds": [clients], "SubnetIds": private}, name
        else:
            assert "VpcConfig" not in props, name
        env = props["Environment"]["Variables"]  # every function: GET /targets (api-meta) and settings read it
        assert env["CLAWSTER_TARGETS"] == "ecs"
        assert env["CLAWSTER_ECS_CLUSTER"] == {"Ref": cluster_id}
        assert env["CLAWSTER_ECS_SUBNETS"] == {"Fn::Join": [",", private]}
        assert env["CLAWSTER_ECS_SECURITY_GROUP"] == gateways and gateways != clients
        assert env["CLAWSTER_EFS_ID"] == {"Ref": fs_id}
        assert json.dumps(env["CLAWSTER_GATEWAY_IMAGE"]).endswith(f'"/", {{"Ref": "{repo_id}"}}]]}}')
        assert env["CLAWSTER_ECS_ROLE_BOUNDARY"] == {"Ref": boundary_id}


def _rules(template: dict, kind: str, group: dict) -> list[dict]:
    """Every ingress or egress rule of a group: the standalone resources and the group's inline ones."""
    standalone = [r["Properties"] for r in resources(template, f"AWS::EC2::SecurityGroup{kind}").values()
                  if r["Properties"]["GroupId"] == group]
    inline = []
    if "Fn::GetAtt" in group:
        inline = resources(template, "AWS::EC2::SecurityGroup")[group["Fn::GetAtt"][0]]["Properties"].get(
            f"SecurityGroup{kind}", [])
    return standalone + inline


def test_gateways_admit_only_18789_from_the_functions_and_efs_only_nfs_from_the_gateways(ecs):
    clients, gateways = _group_ids(ecs)
    (inbound,) = _rules(ecs, "Ingress", gateways)
    assert (inbound["IpProtocol"], inbound["FromPort"], inbound["ToPort"]) == ("tcp", 18789, 18789)
    assert inbound["SourceSecurityGroupId"] == clients and "CidrIp" not in inbound
    mount_groups = {json.dumps(g) for m in resources(ecs, "AWS::EFS::MountTarget").values()
                    for g in m["Properties"]["SecurityGroups"]}
    (efs_group,) = [json.loads(g) for g in mount_groups]
    (nfs,) = _rules(ecs, "Ingress", efs_group)
    assert (nfs["IpProtocol"], nfs["FromPort"], nfs["ToPort"], nfs["SourceSecurityGroupId"]) == ("tcp", 2049, 2049,
                                                                                                 gateways)
    assert not _rules(ecs, "Ingress", clients)
    # Out of the functions: the gateways' port, and TLS (AWS APIs through the NAT); nothing else.
    assert sorted((r["FromPort"], r.get("CidrIp"), json.dumps(r.get("DestinationSecurityGroupId")))
                  for r in _rules(ecs, "Egress", clients)) == [(443, "0.0.0.0/0", "null"), (18789, None, json.dumps(gateways))]
    for group in resources(ecs, "AWS::EC2::SecurityGroup").values():  # no group is open to the internet
        assert all("CidrIp" not in rule for rule in group["Properties"].get("SecurityGroupIngress", []))


def test_the_vpc_has_flow_logs_and_free_endpoints_and_the_cluster_container_insights(ecs):
    (vpc_id,) = resources(ecs, "AWS::EC2::VPC")
    (flow,) = resources(ecs, "AWS::EC2::FlowLog").values()
    assert flow["Properties"]["ResourceId"] == {"Ref": vpc_id} and flow["Properties"]["TrafficType"] == "ALL"
    assert len(resources(ecs, "AWS::EC2::NatGateway")) == 2
    endpoints = [json.dumps(e["Properties"]["ServiceName"]) for e in resources(ecs, "AWS::EC2::VPCEndpoint").values()]
    assert sorted(e.split(".")[-1].strip('"]}') for e in endpoints) == ["dynamodb", "s3"]
    (cluster,) = resources(ecs, "AWS::ECS::Cluster").values()
    assert {"Name": "containerInsights", "Value": "enabled"} in cluster["Properties"]["ClusterSettings"]


def test_the_state_file_system_is_encrypted_backed_up_tiered_and_kept(ecs):
    (fs,) = resources(ecs, "AWS::EFS::FileSystem").values()
    props = fs["Properties"]
    (key_id, key), = resources(ecs, "AWS::KMS::Key").items()
    assert props["Encrypted"] is True and props["KmsKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    assert key["Properties"]["EnableKeyRotation"] is True
    assert props["BackupPolicy"] == {"Status": "ENABLED"}
    assert {"TransitionToIA": "AFTER_30_DAYS"} in props["LifecyclePolicies"]
    (deny,) = props["FileSystemPolicy"]["Statement"]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert fs["DeletionPolicy"] == "Retain" and key["DeletionPolicy"] == "Retain"
    assert len(resources(ecs, "AWS::EFS::MountTarget")) == 2


def test_the_gateway_repository_scans_on_push_and_never_moves_a_tag(ecs):
    (repo,) = resources(ecs, "AWS::ECR::Repository").values()
    props = repo["Properties"]
    assert props["ImageScanningConfiguration"] == {"ScanOnPush": True}
    assert props["ImageTagMutability"] == "IMMUTABLE"
    (rule,) = json.loads(props["LifecyclePolicy"]["LifecyclePolicyText"])["rules"]
    assert rule["selection"]["tagStatus"] == "untagged"  # a version a bot pins is never expired
    assert repo["DeletionPolicy"] == "Retain"


def test_each_gateway_client_holds_exactly_its_gateway_actions(ecs):
    for spec in FUNCTIONS:
        expected = {"read": READ_GATEWAYS, "manage": MANAGE_GATEWAYS}.get(GATEWAY_CLIENTS.get(spec.name), set())
        assert _gateway_actions(_role_statements(ecs, spec.name)) == expected, spec.name


def test_no_gateway_action_is_granted_on_every_resource_but_those_iam_cannot_scope(ecs):
    (cluster_id,) = resources(ecs, "AWS::ECS::Cluster")
    for name in GATEWAY_CLIENTS:
        for statement in _role_statements(ecs, name):
            if statement["Resource"] != "*":
                assert "*" not in _as_list(statement["Resource"])
                continue
            assert set(_as_list(statement["Action"])) <= UNSCOPABLE, statement
            if "ecs:ListTasks" in _as_list(statement["Action"]):
                assert statement["Condition"] == {"ArnEquals": {"ecs:cluster": {"Fn::GetAtt": [cluster_id, "Arn"]}}}


def test_gateway_roles_are_made_only_under_their_path_with_the_boundary_and_passed_only_to_ecs_tasks(ecs):
    (boundary_id,) = resources(ecs, "AWS::IAM::ManagedPolicy")
    iam_statements = [s for name in GATEWAY_CLIENTS for s in _role_statements(ecs, name)
                      if any(a.startswith("iam:") for a in _as_list(s["Action"]))]
    assert iam_statements
    for statement in iam_statements:
        (arn,) = _as_list(statement["Resource"])
        assert arn["Fn::Join"][1][-1] == ":role/clawster/gateways/clawster-gw-*", arn
        actions = set(_as_list(statement["Action"]))
        if actions & {"iam:CreateRole", "iam:PutRolePolicy"}:
            assert statement["Condition"] == {"StringEquals": {"iam:PermissionsBoundary": {"Ref": boundary_id}}}
        if "iam:PassRole" in actions:
            assert actions == {"iam:PassRole"}
            assert statement["Condition"] == {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}
    (boundary,) = resources(ecs, "AWS::IAM::ManagedPolicy").values()
    bound = boundary["Properties"]["PolicyDocument"]["Statement"]
    assert {a for s in bound for a in _as_list(s["Action"])} == GATEWAY_BOUNDARY
    for statement in bound:
        if statement["Resource"] == "*":
            assert _as_list(statement["Action"]) == ["ecr:GetAuthorizationToken"]


def test_the_ecs_target_takes_an_existing_vpc_cluster_and_file_system_by_context(ecs_taken):
    for kind in ("AWS::EC2::VPC", "AWS::EC2::Subnet", "AWS::EC2::NatGateway", "AWS::ECS::Cluster",
                 "AWS::EFS::FileSystem", "AWS::KMS::Key"):
        assert not resources(ecs_taken, kind), kind
    clients, gateways = _group_ids(ecs_taken)
    subnets = TAKEN["subnet_ids"].split(",")
    for name in GATEWAY_CLIENTS:
        props = catalog_lambdas(ecs_taken)[function_ids(ecs_taken)[name]]["Properties"]
        assert props["VpcConfig"] == {"SecurityGroupIds": [clients], "SubnetIds": subnets}
        env = props["Environment"]["Variables"]
        assert (env["CLAWSTER_ECS_CLUSTER"], env["CLAWSTER_ECS_SUBNETS"], env["CLAWSTER_EFS_ID"]) == (
            "prod-gateways", TAKEN["subnet_ids"], TAKEN["efs_id"])
    for group in resources(ecs_taken, "AWS::EC2::SecurityGroup").values():
        assert group["Properties"]["VpcId"] == TAKEN["vpc_id"]
    (nfs,) = _rules(ecs_taken, "Ingress", TAKEN["efs_security_group_id"])  # the file system's group admits them
    assert (nfs["FromPort"], nfs["ToPort"], nfs["SourceSecurityGroupId"]) == (2049, 2049, gateways)


@pytest.mark.parametrize(("context", "message"), [
    ({"vpc_id": "vpc-0a1b2c3d4e5f60718"}, "vpc_id needs subnet_ids"),
    ({"vpc_id": "vpc-0a1b2c3d4e5f60718", "subnet_ids": "subnet-0aaaaaaaaaaaaaaa1"}, "subnet_ids='subnet-0aaaaaaaaaaaaaaa1'"),
    ({"vpc_id": "vpc-NOPE", "subnet_ids": TAKEN["subnet_ids"]}, "vpc_id='vpc-NOPE'"),
    ({"efs_id": TAKEN["efs_id"], "efs_security_group_id": TAKEN["efs_security_group_id"]}, "efs_id needs vpc_id"),
    ({"vpc_id": TAKEN["vpc_id"], "subnet_ids": TAKEN["subnet_ids"], "efs_id": TAKEN["efs_id"]},
     "efs_id needs efs_security_group_id"),
    ({"ecs_cluster": "prod gateways"}, "ecs_cluster='prod gateways'"),
])
def test_a_malformed_or_incomplete_ecs_context_is_refused_naming_it(tmp_path, deps_layer, context, message):
    with pytest.raises(GatewayOptionInvalid, match=message):
        build_app(str(tmp_path), console_dist=CONSOLE_DIST, context={"ecs_target": "true", **context})


def test_the_targets_guide_documents_every_ecs_context_value_and_the_image_build():
    guide = (REPO / "docs" / "deploy-targets.md").read_text()
    for option in dataclasses.fields(GatewayOptions):
        assert f"-c {option.name}=" in guide, option.name
    assert "-c ecs_target=true" in guide
    dockerfile = (REPO / "deploy" / "gateway" / "Dockerfile").read_text()
    assert "ARG OPENCLAW_VERSION=" in dockerfile and "--build-arg OPENCLAW_VERSION=" in guide


# --- the web console: S3 + CloudFront, its Cognito client, CORS ------------------------------------------

def _text(value) -> str:
    """A CloudFormation string written out, references as {LogicalId}, {AWS::Region} or {LogicalId.Attribute}."""
    if isinstance(value, str):
        return value
    if "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(_text(part) for part in parts)
    if "Ref" in value:
        return f"{{{value['Ref']}}}"
    if "Fn::GetAtt" in value:
        return "{" + ".".join(value["Fn::GetAtt"]) + "}"
    raise AssertionError(f"not a string value: {value}")


def _only(template: dict, kind: str, prefix: str = "") -> tuple[str, dict]:
    (found,) = [(k, r) for k, r in resources(template, kind).items() if k.startswith(prefix)]
    return found


def _console_ids(template: dict) -> dict[str, str]:
    """Logical ids of what the console's settings name, found by type (one of each in the stack)."""
    return {"rest": _only(template, "AWS::ApiGateway::RestApi")[0], "stream": _only(template, "AWS::ApiGatewayV2::Api")[0],
            "domain": _only(template, "AWS::Cognito::UserPoolDomain")[0],
            "cdn": _only(template, "AWS::CloudFront::Distribution")[0],
            "bucket": _only(template, "AWS::S3::Bucket", "ConsoleBucket")[0],
            "logs": _only(template, "AWS::S3::Bucket", "ConsoleLogs")[0]}


def test_the_console_bucket_is_private_and_only_the_distribution_may_read_it(template):
    ids = _console_ids(template)
    for bucket_id in (ids["bucket"], ids["logs"]):
        props = resources(template, "AWS::S3::Bucket")[bucket_id]["Properties"]
        assert props["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True, "RestrictPublicBuckets": True}
        assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    bucket = resources(template, "AWS::S3::Bucket")[ids["bucket"]]["Properties"]
    assert bucket["LoggingConfiguration"]["DestinationBucketName"] == {"Ref": ids["logs"]}
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    (policy,) = [r["Properties"]["PolicyDocument"] for r in resources(template, "AWS::S3::BucketPolicy").values()
                 if r["Properties"]["Bucket"] == {"Ref": ids["bucket"]}]
    allowed = [s for s in policy["Statement"] if s["Effect"] == "Allow"]
    assert allowed == [{
        "Action": "s3:GetObject",
        "Condition": {"StringEquals": {"AWS:SourceArn": allowed[0]["Condition"]["StringEquals"]["AWS:SourceArn"]}},
        "Effect": "Allow",
        "Principal": {"Service": "cloudfront.amazonaws.com"},
        "Resource": {"Fn::Join": ["", [{"Fn::GetAtt": [ids["bucket"], "Arn"]}, "/*"]]},
    }]
    source = _text(allowed[0]["Condition"]["StringEquals"]["AWS:SourceArn"])
    assert source == f"arn:{{AWS::Partition}}:cloudfront::{{AWS::AccountId}}:distribution/{{{ids['cdn']}}}"
    (denied,) = [s for s in policy["Statement"] if s["Effect"] == "Deny"]
    assert denied["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} and denied["Action"] == "s3:*"
    # CloudFront signs its requests (origin access control), never with a legacy origin access identity.
    (origin,) = resources(template, "AWS::CloudFront::Distribution")[ids["cdn"]]["Properties"]["DistributionConfig"][
        "Origins"]
    assert origin["DomainName"] == {"Fn::GetAtt": [ids["bucket"], "RegionalDomainName"]}
    oac_id = origin["OriginAccessControlId"]["Fn::GetAtt"][0]
    oac = resources(template, "AWS::CloudFront::OriginAccessControl")[oac_id]["Properties"]["OriginAccessControlConfig"]
    assert (oac["OriginAccessControlOriginType"], oac["SigningBehavior"], oac["SigningProtocol"]) == ("s3", "always", "sigv4")
    assert origin["S3OriginConfig"].get("OriginAccessIdentity", "") == ""


def test_s3_delivers_the_console_buckets_access_logs_under_a_bucket_policy_whatever_the_cli_context(template):
    """The logging service may write the console bucket's logs only (no LogDeliveryWrite ACL), though the template
    was synthesized with a CLI context turning the feature flag behind it off (the `out` fixture)."""
    ids = _console_ids(template)
    (policy,) = [r["Properties"]["PolicyDocument"] for r in resources(template, "AWS::S3::BucketPolicy").values()
                 if r["Properties"]["Bucket"] == {"Ref": ids["logs"]}]
    (grant,) = [s for s in policy["Statement"] if s["Effect"] == "Allow"]
    assert grant["Principal"] == {"Service": "logging.s3.amazonaws.com"} and grant["Action"] == "s3:PutObject"
    assert grant["Condition"]["ArnLike"]["aws:SourceArn"] == {"Fn::GetAtt": [ids["bucket"], "Arn"]}
    assert "AccessControl" not in resources(template, "AWS::S3::Bucket")[ids["logs"]]["Properties"]


def test_the_consoles_named_cloudfront_resources_carry_the_region(template):
    """CloudFront's names are unique in the account, not in a region as the stack's name is: without the region,
    the stack's deploy to a second region of the same account would fail on a name already taken."""
    name_of = {"AWS::CloudFront::ResponseHeadersPolicy": lambda p: p["ResponseHeadersPolicyConfig"]["Name"],
               "AWS::CloudFront::OriginAccessControl": lambda p: p["OriginAccessControlConfig"]["Name"],
               "AWS::CloudFront::Function": lambda p: p["Name"]}
    named = {r["Type"] for r in template["Resources"].values() if r["Type"].startswith("AWS::CloudFront::")}
    assert named - {"AWS::CloudFront::Distribution"} == set(name_of)  # a new kind: say where its name is
    for kind, name in name_of.items():
        for props in (r["Properties"] for r in resources(template, kind).values()):
            assert "{AWS::Region}" in _text(name(props)), (kind, name(props))


def test_the_distribution_serves_https_only_logs_and_routes_through_the_function(template):
    ids = _console_ids(template)
    config = resources(template, "AWS::CloudFront::Distribution")[ids["cdn"]]["Properties"]["DistributionConfig"]
    behavior = config["DefaultCacheBehavior"]
    assert behavior["ViewerProtocolPolicy"] == "redirect-to-https"
    assert behavior["AllowedMethods"] == ["GET", "HEAD"]
    assert config["Logging"]["Bucket"] == {"Fn::GetAtt": [ids["logs"], "RegionalDomainName"]}
    (association,) = behavior["FunctionAssociations"]
    assert association["EventType"] == "viewer-request"
    function = resources(template, "AWS::CloudFront::Function")[association["FunctionARN"]["Fn::GetAtt"][0]]
    assert function["Properties"]["FunctionConfig"]["Runtime"] == "cloudfront-js-2.0"
    headers_id = behavior["ResponseHeadersPolicyId"]["Ref"]
    assert headers_id in resources(template, "AWS::CloudFront::ResponseHeadersPolicy")


def _run_router(code: str, uris: list[str]) -> list[dict]:
    """The CloudFront Function's code, run by node on a viewer request for each URI."""
    from layers.providers.local import OpenClawRuntime

    script = ("const {code, uris} = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
              "const handler = new Function(code + '\\nreturn handler;')();"
              "console.log(JSON.stringify(uris.map((uri) => handler("
              "{version: '1.0', context: {eventType: 'viewer-request'}, viewer: {ip: '192.0.2.1'},"
              " request: {method: 'GET', uri: uri, querystring: {}, headers: {}, cookies: {}}}))));")
    run = subprocess.run([str(OpenClawRuntime.default().node), "-e", script], input=json.dumps({"code": code, "uris": uris}),
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def test_the_router_sends_the_root_to_the_console_and_its_deep_links_to_index_html(template):
    (function,) = resources(template, "AWS::CloudFront::Function").values()
    cases = {  # URI -> the URI S3 is asked for, or ("redirect", location)
        "/": ("redirect", "/console/"),
        "/console": ("redirect", "/console/"),
        "/console/": "/console/index.html",
        "/console/workspaces/ws_1/fleets/f_2": "/console/index.html",
        "/console/workspaces/ws_1/": "/console/index.html",
        "/console/audit": "/console/index.html",
        "/console/index.html": "/console/index.html",
        "/console/config.json": "/console/config.json",
        "/console/assets/index-B7x2kQ9a.js": "/console/assets/index-B7x2kQ9a.js",
        "/console/favicon.svg": "/console/favicon.svg",
        "/robots.txt": "/robots.txt",  # outside the app: passed on (the bucket holds nothing there)
        "/other/page": "/other/page",
    }
    answers = _run_router(function["Properties"]["FunctionCode"], list(cases))
    for (uri, expected), answer in zip(cases.items(), answers, strict=True):
        if isinstance(expected, tuple):
            assert answer["statusCode"] == 302 and answer["headers"]["location"]["value"] == expected[1], (uri, answer)
        else:
            assert "statusCode" not in answer and answer["uri"] == expected, (uri, answer)


def _csp_directives(text: str) -> dict[str, list[str]]:
    directives = {}
    for part in filter(None, (p.strip() for p in text.split(";"))):
        name, *values = part.split()
        assert name not in directives, f"{name} twice"
        directives[name] = values
    return directives


def test_the_console_gets_every_security_header_and_a_csp_naming_only_its_apis_and_the_hosted_ui(template):
    ids = _console_ids(template)
    (policy,) = resources(template, "AWS::CloudFront::ResponseHeadersPolicy").values()
    security = policy["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    hsts = security["StrictTransportSecurity"]
    assert hsts["AccessControlMaxAgeSec"] >= 31536000 and hsts["IncludeSubdomains"] is True and hsts["Override"] is True
    assert security["ContentTypeOptions"] == {"Override": True}
    assert security["FrameOptions"] == {"FrameOption": "DENY", "Override": True}
    assert security["ReferrerPolicy"]["ReferrerPolicy"] in ("strict-origin-when-cross-origin", "no-referrer")
    assert security["ContentSecurityPolicy"]["Override"] is True
    # Written out by hand: the APIs by their ids (never a stage, which would depend on the functions), the hosted UI.
    rest = f"https://{{{ids['rest']}}}.execute-api.{{AWS::Region}}.{{AWS::URLSuffix}}"
    stream = f"wss://{{{ids['stream']}}}.execute-api.{{AWS::Region}}.{{AWS::URLSuffix}}"
    hosted_ui = f"https://{{{ids['domain']}}}.auth.{{AWS::Region}}.amazoncognito.com"
    assert _csp_directives(_text(security["ContentSecurityPolicy"]["ContentSecurityPolicy"])) == {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'", rest, stream, hosted_ui],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'", hosted_ui],
        "object-src": ["'none'"],
    }


def _console_origin(template: dict) -> dict:
    return {"Fn::Join": ["", ["https://", {"Fn::GetAtt": [_console_ids(template)["cdn"], "DomainName"]}]]}


def test_the_console_client_signs_in_with_the_code_grant_only_back_to_the_console(template):
    props = resources(template, "AWS::Cognito::UserPoolClient")[_client_id(template, "Console")]["Properties"]
    console_url = {"Fn::Join": ["", ["https://", {"Fn::GetAtt": [_console_ids(template)["cdn"], "DomainName"]}, "/console/"]]}
    assert props["AllowedOAuthFlows"] == ["code"] and props["AllowedOAuthFlowsUserPoolClient"] is True
    assert sorted(props["AllowedOAuthScopes"]) == ["email", "openid", "profile"]
    assert props["CallbackURLs"] == [console_url] and props["LogoutURLs"] == [console_url]
    assert props["GenerateSecret"] is False  # a public client: the browser proves itself with PKCE
    assert props["ExplicitAuthFlows"] == ["ALLOW_REFRESH_TOKEN_AUTH"]  # passwords go to the hosted UI only
    assert props["SupportedIdentityProviders"] == ["COGNITO"]
    assert props["PreventUserExistenceErrors"] == "ENABLED"
    units = props["TokenValidityUnits"]
    assert (props["IdTokenValidity"], units["IdToken"]) == (60, "minutes")
    assert (props["RefreshTokenValidity"], units["RefreshToken"]) == (720, "minutes")


def test_the_hosted_ui_domain_is_the_stacks_and_accounts_unless_chosen(template, variant):
    (domain,) = resources(template, "AWS::Cognito::UserPoolDomain").values()
    (pool_id,) = resources(template, "AWS::Cognito::UserPool")
    assert domain["Properties"]["UserPoolId"] == {"Ref": pool_id}
    # Cognito refuses "aws", "amazon" or "cognito" anywhere in a prefix: "clawster" holds "aws".
    assert _text(domain["Properties"]["Domain"]) == "claw-ster-{AWS::AccountId}"
    (chosen,) = resources(variant, "AWS::Cognito::UserPoolDomain").values()
    assert chosen["Properties"]["Domain"] == AUTH_PREFIX


def test_the_rest_api_takes_the_id_tokens_of_every_client_of_the_pool(template):
    """The Cognito authorizer checks an ID token's pool, not its client, unless a method asks for OAuth scopes (then
    only access tokens pass): no method may, or the console's tokens, like the CLI's, would be refused."""
    (authorizer,) = resources(template, "AWS::ApiGateway::Authorizer").values()
    assert authorizer["Properties"]["IdentitySource"] == "method.request.header.Authorization"
    for (method, path), props in _method_index(template).items():
        assert not props.get("AuthorizationScopes"), (method, path)


@pytest.mark.parametrize("prefix", ["Ops_Console", "my-aws-login", "clawster-ops", "cognito-ops", "-ops", "x" * 64])
def test_an_auth_domain_prefix_cognito_would_refuse_is_refused(tmp_path, deps_layer, prefix):
    with pytest.raises(AuthDomainInvalid, match="auth_domain_prefix"):
        build_app(str(tmp_path), console_dist=CONSOLE_DIST, context={"auth_domain_prefix": prefix})


def test_the_api_answers_cors_for_the_console_origin_only(template):
    from functions.api._resolver import CONSOLE_ORIGIN_VARIABLE

    origin = _console_origin(template)
    quoted = {"Fn::Join": ["", ["'https://", {"Fn::GetAtt": [_console_ids(template)["cdn"], "DomainName"]}, "'"]]}
    # The preflight of every resource (the root too), answered by API Gateway: no authorizer, no function.
    methods = _method_index(template)
    preflights = {path: props for (method, path), props in methods.items() if method == "OPTIONS"}
    assert set(preflights) == {"/", *_route_paths(template).values()}
    for path, props in preflights.items():
        assert props["AuthorizationType"] == "NONE" and props["Integration"]["Type"] == "MOCK", path
        (answer,) = props["Integration"]["IntegrationResponses"]
        headers = answer["ResponseParameters"]
        assert headers["method.response.header.Access-Control-Allow-Origin"] == quoted, path
        allowed = {h.lower() for h in headers["method.response.header.Access-Control-Allow-Headers"].strip("'").split(",")}
        assert {"authorization", "content-type", "if-match", "idempotency-key"} <= allowed
    # API Gateway's own errors (a bad token, throttling, an integration failure) name the origin too.
    answers = {r["Properties"]["ResponseType"]: r["Properties"]
               for r in resources(template, "AWS::ApiGateway::GatewayResponse").values()}
    assert {"DEFAULT_4XX", "DEFAULT_5XX", "UNAUTHORIZED", "ACCESS_DENIED", "THROTTLED"} <= set(answers)
    for kind, props in answers.items():
        assert props["ResponseParameters"]["gatewayresponse.header.Access-Control-Allow-Origin"] == quoted, kind
    # And the functions behind the routes, through the variable their resolver reads.
    lambdas, ids = catalog_lambdas(template), function_ids(template)
    for spec in FUNCTIONS:
        variables = lambdas[ids[spec.name]]["Properties"]["Environment"]["Variables"]
        assert variables.get(CONSOLE_ORIGIN_VARIABLE) == (origin if spec.rest_routes else None), spec.name
    assert "'*'" not in json.dumps(template["Resources"])


def _deployments(template: dict) -> dict[str, dict]:
    """destination key prefix -> the BucketDeployment custom resource."""
    return {r["Properties"]["DestinationBucketKeyPrefix"]: r
            for r in resources(template, "Custom::CDKBucketDeployment").values()}


def test_every_function_logs_to_a_log_group_of_the_stack_that_expires(template):
    """The catalog's functions and CDK's deployment handler alike: none writes to a group Lambda makes on its own
    (/aws/lambda/<name>, kept forever and left behind by the stack)."""
    groups = resources(template, "AWS::Logs::LogGroup")
    for logical_id, props in ((k, r["Properties"]) for k, r in resources(template, "AWS::Lambda::Function").items()):
        group = props.get("LoggingConfig", {}).get("LogGroup", {}).get("Ref")
        assert group in groups and groups[group]["Properties"].get("RetentionInDays"), logical_id


def test_the_console_files_are_uploaded_under_console_with_their_caching(template, out):
    ids = _console_ids(template)
    deployments = _deployments(template)
    assert set(deployments) == {"console/", "console/assets/"}
    assets, shell = deployments["console/assets/"], deployments["console/"]
    for deployment in (assets, shell):
        assert deployment["Properties"]["DestinationBucketName"] == {"Ref": ids["bucket"]}
        assert deployment["Properties"]["Prune"] is False  # an open tab keeps loading its version's assets
    assert assets["Properties"]["SystemMetadata"]["cache-control"] == "public, max-age=31536000, immutable"
    assert shell["Properties"]["SystemMetadata"]["cache-control"] == "no-cache"
    (assets_id,) = [k for k, r in resources(template, "Custom::CDKBucketDeployment").items() if r is assets]
    assert assets_id in _as_list(shell["DependsOn"])  # index.html never names assets not there yet
    # What each uploads, as staged in the cloud assembly: hashed assets alone; the shell without them.
    (assets_key,) = assets["Properties"]["SourceObjectKeys"]
    staged = out / f"asset.{assets_key.removesuffix('.zip')}"
    assert sorted(p.name for p in staged.iterdir()) == sorted(p.name for p in (CONSOLE_DIST / "assets").iterdir())
    shell_files = sorted(p.name for key in shell["Properties"]["SourceObjectKeys"]
                         for p in (out / f"asset.{key.removesuffix('.zip')}").iterdir())
    assert shell_files == ["config.json", "favicon.svg", "index.html"]


def test_config_json_carries_the_stacks_real_values(template, out):
    """config.json (the contract with the console app), its deploy-time values put back in, against a
    hand-written expectation."""
    ids = _console_ids(template)
    shell = _deployments(template)["console/"]["Properties"]
    (index,) = [i for i, key in enumerate(shell["SourceObjectKeys"])
                if (out / f"asset.{key.removesuffix('.zip')}" / "config.json").is_file()]
    text = (out / f"asset.{shell['SourceObjectKeys'][index].removesuffix('.zip')}" / "config.json").read_text()
    for marker, value in shell["SourceMarkers"][index].items():
        text = text.replace(marker, _text(value))
    hosted_ui = f"https://{{{ids['domain']}}}.auth.{{AWS::Region}}.amazoncognito.com"
    assert json.loads(text) == {
        "apiUrl": f"https://{{{ids['rest']}}}.execute-api.{{AWS::Region}}.{{AWS::URLSuffix}}/v1",
        "wsUrl": f"wss://{{{ids['stream']}}}.execute-api.{{AWS::Region}}.{{AWS::URLSuffix}}/v1",
        "auth": {
            "authorizeUrl": f"{hosted_ui}/oauth2/authorize",
            "tokenUrl": f"{hosted_ui}/oauth2/token",
            "logoutUrl": f"{hosted_ui}/logout",
            "clientId": f"{{{_client_id(template, 'Console')}}}",
            "scope": "openid email profile",
        },
        "redirectPath": "/console/",
    }


def test_the_outputs_name_the_console_its_client_and_the_hosted_ui(template):
    ids, outputs = _console_ids(template), template["Outputs"]
    assert _text(outputs["ConsoleUrl"]["Value"]) == f"https://{{{ids['cdn']}.DomainName}}/console/"
    assert outputs["ConsoleClientId"]["Value"] == {"Ref": _client_id(template, "Console")}
    assert _text(outputs["HostedUiDomain"]["Value"]) == f"https://{{{ids['domain']}}}.auth.{{AWS::Region}}.amazoncognito.com"


def test_synthesis_refuses_without_a_built_console(tmp_path):
    with pytest.raises(ConsoleNotBuilt, match="run scripts/build_console.sh"):
        build_app(str(tmp_path / "out"), console_dist=tmp_path / "never-built")
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "index.html").write_text("<!doctype html>")  # no assets/: a build that stopped halfway
    with pytest.raises(ConsoleNotBuilt):
        console_dist_dir(tmp_path / "half")
    # The entry point says what to run, without a traceback.
    env = {**os.environ, "CDK_OUTDIR": str(tmp_path / "out"), "CLAWSTER_CONSOLE_DIST": str(tmp_path / "never-built")}
    result = subprocess.run([sys.executable, str(REPO / "infra-cdk" / "app.py")], env=env, capture_output=True, text=True)
    assert result.returncode != 0
    assert result.stderr.startswith("error: the web console is not built") and "Traceback" not in result.stderr


def test_the_deploy_guide_documents_the_console():
    guide = (REPO / "docs" / "deploy.md").read_text()
    for needed in ("ConsoleUrl", "ConsoleClientId", "HostedUiDomain", f"-c {AUTH_DOMAIN_CONTEXT}=", BUILD_COMMAND):
        assert needed in guide, needed
