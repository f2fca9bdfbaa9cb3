"""The REST API: a resource and method per catalog route, Cognito on every non-public one.

Error bodies that API Gateway itself produces (bad token, throttling, unknown route) use the same
{code, message, details} shape as the handlers, so clients parse one error format.

CORS for the web console's origin only: API Gateway answers every resource's preflight (OPTIONS, a mock
integration, no authorizer: browsers send no token with it) and names the origin on its own errors; the
functions name it on theirs (CLAWSTER_CONSOLE_ORIGIN, functions/api/_resolver.py). The API is made in two
steps because the console's origin is known only once its distribution exists, whose CSP needs this API's id.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from functions.catalog import RestRoute

from .nag import acknowledge
from .users import make_authorizer

# API Gateway's own errors -> (status, code, message). messageString is already a quoted JSON string.
GATEWAY_ERRORS = {
    apigw.ResponseType.UNAUTHORIZED: ("401", "UNAUTHORIZED", '"missing, expired or invalid token"'),
    apigw.ResponseType.ACCESS_DENIED: ("403", "FORBIDDEN", "$context.error.messageString"),
    # An unknown path or method reaches API Gateway as "missing authentication token".
    apigw.ResponseType.MISSING_AUTHENTICATION_TOKEN: ("404", "NOT_FOUND", '"no such route"'),
    apigw.ResponseType.THROTTLED: ("429", "THROTTLED", "$context.error.messageString"),
    apigw.ResponseType.REQUEST_TOO_LARGE: ("413", "PAYLOAD_TOO_LARGE", "$context.error.messageString"),
    apigw.ResponseType.UNSUPPORTED_MEDIA_TYPE: ("415", "UNSUPPORTED_MEDIA_TYPE", "$context.error.messageString"),
    apigw.ResponseType.BAD_REQUEST_PARAMETERS: ("400", "BAD_REQUEST", "$context.error.messageString"),
    apigw.ResponseType.DEFAULT_4_XX: (None, "BAD_REQUEST", "$context.error.messageString"),
    # An integration failure or timeout: the API itself failed, not the caller.
    apigw.ResponseType.DEFAULT_5_XX: (None, "UNAVAILABLE", "$context.error.messageString"),
}
STAGE = "v1"
CONSOLE_ORIGIN_VARIABLE = "CLAWSTER_CONSOLE_ORIGIN"  # functions/api/_resolver.py reads it (CORS)
CORS_ALLOW_HEADERS = ["Authorization", "Content-Type", "If-Match", "Idempotency-Key"]  # what the console sends
CORS_MAX_AGE = cdk.Duration.hours(1)
THROTTLE_RATE, THROTTLE_BURST = 50, 100  # per second, per stage; operators' API, not bot traffic


def error_template(code: str, message_expr: str) -> str:
    return f'{{"code": {json.dumps(code)}, "message": {message_expr}, "details": {{}}}}'


def make_rest_api(scope: Construct, *, tracing: bool) -> apigw.RestApi:
    """The API, its stage, logs and WAF; add_routes adds what needs the console's origin."""
    access_logs = logs.LogGroup(
        scope, "ApiAccessLogs", retention=logs.RetentionDays.THREE_MONTHS, removal_policy=cdk.RemovalPolicy.RETAIN
    )
    api = apigw.RestApi(
        scope,
        "Api",
        rest_api_name="clawster",
        description="Clawster control plane REST API (routes from functions/catalog.py)",
        endpoint_types=[apigw.EndpointType.REGIONAL],
        cloud_watch_role=True,
        cloud_watch_role_removal_policy=cdk.RemovalPolicy.RETAIN,
        deploy_options=apigw.StageOptions(
            stage_name=STAGE,
            access_log_destination=apigw.LogGroupLogDestination(access_logs),
            access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
                caller=False, http_method=True, ip=True, protocol=True, request_time=True,
                resource_path=True, response_length=True, status=True, user=True,
            ),
            logging_level=apigw.MethodLoggingLevel.ERROR,
            data_trace_enabled=False,  # request bodies may hold bot configs: never log them
            tracing_enabled=tracing,
            metrics_enabled=True,
            throttling_rate_limit=THROTTLE_RATE,
            throttling_burst_limit=THROTTLE_BURST,
        ),
    )
    acknowledge(
        api.node.find_child("CloudWatchRole"),
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]",
        "API Gateway's account-level CloudWatch role is defined by AWS with exactly this managed policy",
    )
    _attach_waf(scope, api)
    return api


def rest_api_origin(api: apigw.RestApi) -> str:
    """https://<id>.execute-api.<region>.<suffix>, from the RestApi's id alone (api.url would name the stage,
    which depends on every method, hence on the functions: a CloudFormation cycle for whoever they depend on)."""
    stack = cdk.Stack.of(api)
    return f"https://{api.rest_api_id}.execute-api.{stack.region}.{stack.url_suffix}"


def add_routes(
    scope: Construct,
    api: apigw.RestApi,
    routes: list[tuple[lambda_.IFunction, RestRoute]],
    pool: cognito.UserPool,
    *,
    console_origin: str,
) -> None:
    """A method per catalog route, API Gateway's own errors, and CORS for `console_origin`."""
    allow_origin = {"Access-Control-Allow-Origin": f"'{console_origin}'"}
    for response_type, (status, code, message) in GATEWAY_ERRORS.items():
        api.add_gateway_response(
            f"Gateway{response_type.response_type}",
            type=response_type,
            status_code=status,
            response_headers=allow_origin,  # or the console cannot read why it was refused
            templates={"application/json": error_template(code, message)},
        )
    # Bodies are validated by the handlers' pydantic models (422 naming the field); the gateway
    # validator checks required parameters and any request model a route declares.
    validator = api.add_request_validator(
        "RequestValidator", validate_request_parameters=True, validate_request_body=True
    )
    authorizer = make_authorizer(scope, pool)
    for fn, route in routes:
        method = api.root.resource_for_path(route.path).add_method(
            route.method,
            _proxy_to(fn),
            request_validator=validator,
            authorization_type=apigw.AuthorizationType.NONE if route.public else apigw.AuthorizationType.COGNITO,
            authorizer=None if route.public else authorizer,
        )
        if route.public:
            reason = f"{route.method} {route.path} is public by design (clawster.domain.roles marks it PUBLIC)"
            acknowledge(method, "AwsSolutions-APIG4", reason)
            acknowledge(method, "AwsSolutions-COG4", reason)
    _allow_invoke(api, {fn.node.path: fn for fn, _ in routes}.values())
    _answer_preflights(api, console_origin, sorted({route.method for _, route in routes}))


def _proxy_to(fn: lambda_.IFunction) -> apigw.Integration:
    """LambdaIntegration's proxy integration without the invoke permission it adds for every method: a stack
    holds at most 500 resources, and one permission per function (_allow_invoke) does the same job."""
    return apigw.AwsIntegration(service="lambda", proxy=True, path=f"2015-03-31/functions/{fn.function_arn}/invocations")


def _allow_invoke(api: apigw.RestApi, functions: Iterable[lambda_.IFunction]) -> None:
    """API Gateway may invoke each route's function through this API's stage only (no test invocations)."""
    for fn in functions:
        fn.add_permission("RestApiInvoke", principal=iam.ServicePrincipal("apigateway.amazonaws.com"),
                          source_arn=api.arn_for_execute_api(stage=STAGE))


def _answer_preflights(api: apigw.RestApi, console_origin: str, methods: list[str]) -> None:
    """OPTIONS on every resource, answered by API Gateway itself for the console's origin only."""
    resources = [api.root, *(c for c in api.root.node.find_all() if isinstance(c, apigw.Resource))]
    for resource in resources:
        preflight = resource.add_cors_preflight(
            allow_origins=[console_origin], allow_methods=methods, allow_headers=CORS_ALLOW_HEADERS,
            max_age=CORS_MAX_AGE)
        reason = "a CORS preflight: browsers send OPTIONS without credentials; API Gateway answers it (mock), no function"
        acknowledge(preflight, "AwsSolutions-APIG4", reason)
        acknowledge(preflight, "AwsSolutions-COG4", reason)


def _managed_rule(name: str, priority: int, overrides: tuple[str, ...] = ()) -> wafv2.CfnWebACL.RuleProperty:
    return wafv2.CfnWebACL.RuleProperty(
        name=name,
        priority=priority,
        override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
        statement=wafv2.CfnWebACL.StatementProperty(
            managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                vendor_name="AWS",
                name=name,
                rule_action_overrides=[
                    wafv2.CfnWebACL.RuleActionOverrideProperty(
                        name=rule, action_to_use=wafv2.CfnWebACL.RuleActionProperty(count={})
                    )
                    for rule in overrides
                ] or None,
            )
        ),
        visibility_config=_visibility(name),
    )


def _visibility(name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    return wafv2.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True, metric_name=name, sampled_requests_enabled=True
    )


def _attach_waf(scope: Construct, api: apigw.RestApi) -> None:
    rate_limit = wafv2.CfnWebACL.RuleProperty(
        name="PerIpRateLimit",
        priority=0,
        action=wafv2.CfnWebACL.RuleActionProperty(block={}),
        statement=wafv2.CfnWebACL.StatementProperty(
            rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(limit=2000, aggregate_key_type="IP")
        ),
        visibility_config=_visibility("PerIpRateLimit"),
    )
    acl = wafv2.CfnWebACL(
        scope,
        "ApiWaf",
        scope="REGIONAL",
        default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
        visibility_config=_visibility("clawster-api"),
        rules=[
            rate_limit,
            # Bot configs are JSON documents larger than the common rule set's 8 KB body limit.
            _managed_rule("AWSManagedRulesCommonRuleSet", 1, overrides=("SizeRestrictions_BODY",)),
            _managed_rule("AWSManagedRulesKnownBadInputsRuleSet", 2),
        ],
    )
    wafv2.CfnWebACLAssociation(
        scope, "ApiWafAssociation", resource_arn=api.deployment_stage.stage_arn, web_acl_arn=acl.attr_arn
    )
