"""The stream API: an API Gateway WebSocket API whose routes come from the catalog's WebSocketRoute
triggers, $connect behind the catalog's Lambda REQUEST authorizer (Cognito ID tokens checked against
the pool's JWKS), and `@connections` rights for the functions that publish.

The authorizer has no identity source on purpose: API Gateway would refuse the handshake unless every
listed source were present, and a client sends its token in one of two places (the query string, or
Sec-WebSocket-Protocol for browsers); the function looks in both. WebSocket APIs do not cache
authorizer results, so nothing else depends on it.
"""

from __future__ import annotations

import json

import aws_cdk as cdk
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_authorizers as authorizers
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from functions.catalog import Function, WebSocketAuthorizer

from .lambdas import construct_id
from .nag import acknowledge

STAGE = "v1"
THROTTLE_RATE, THROTTLE_BURST = 50, 100  # messages per second, per stage: watchers subscribe, they do not chat
ENDPOINT_VARIABLE = "WS_MANAGEMENT_ENDPOINT"  # clawster.services.stream reads it


class StreamApiInvalid(ValueError):
    """The catalog's stream routes cannot make a safe API (e.g. a $connect with no authorizer)."""


def make_stream_api(
    scope: Construct,
    specs: tuple[Function, ...],
    functions: dict[str, lambda_.Function],
    pool: cognito.UserPool,
) -> apigwv2.WebSocketStage | None:
    """The WebSocket API's stage, or None when the catalog has no stream routes. The app clients whose
    tokens the authorizer accepts are named afterwards (accept_app_clients): the console's exists only later."""
    routes = [(spec, route) for spec in specs for route in spec.websocket_routes]
    if not routes:
        return None
    keys = [route.route_key for _, route in routes]
    if len(keys) != len(set(keys)):
        raise StreamApiInvalid(f"a stream route belongs to one function: {sorted(k for k in keys if keys.count(k) > 1)}")
    guards = _guards(specs)
    if "$connect" not in keys or len(guards) != 1:
        raise StreamApiInvalid("the stream API needs a $connect route and exactly one WebSocketAuthorizer function")
    authorizer = _authorizer(scope, functions[guards[0].name], pool)

    api = apigwv2.WebSocketApi(
        scope,
        "StreamApi",
        api_name="clawster-streams",
        description="Clawster stream API: status, step progress and health (routes from functions/catalog.py)",
        route_selection_expression="$request.body.action",
    )
    for spec, route in routes:
        integration = integrations.WebSocketLambdaIntegration(
            f"{construct_id(spec.name)}{_route_id(route.route_key)}Integration", functions[spec.name]
        )
        added = api.add_route(
            route.route_key,
            integration=integration,
            authorizer=authorizer if route.route_key == "$connect" else None,
            return_response=route.replies or None,
        )
        if route.route_key != "$connect":
            acknowledge(
                added,
                "AwsSolutions-APIG4",
                "a WebSocket API authorizes only $connect: every later message of the connection carries the "
                "identity the $connect authorizer established, and each topic is authorized by the function",
            )
    stage = _stage(scope, api)
    for spec in specs:
        if spec.posts_to_connections:
            grant_publishing(stage, api, functions[spec.name])
    cdk.CfnOutput(scope, "StreamUrl", value=stage.url)
    return stage


def stream_api_origin(stage: apigwv2.WebSocketStage) -> str:
    """wss://<id>.execute-api.<region>.<suffix>, from the API's id alone (not the stage's URL: see rest_api_origin)."""
    stack = cdk.Stack.of(stage)
    return f"wss://{stage.api.api_id}.execute-api.{stack.region}.{stack.url_suffix}"


def accept_app_clients(
    specs: tuple[Function, ...], functions: dict[str, lambda_.Function], clients: list[cognito.UserPoolClient]
) -> None:
    """The authorizer accepts ID tokens issued to these app clients (an ID token's `aud` is its client's id)."""
    for guard in _guards(specs):
        functions[guard.name].add_environment("TOKEN_AUDIENCE", ",".join(c.user_pool_client_id for c in clients))


def _guards(specs: tuple[Function, ...]) -> list[Function]:
    return [spec for spec in specs if any(isinstance(t, WebSocketAuthorizer) for t in spec.triggers)]


def grant_publishing(stage: apigwv2.WebSocketStage, api: apigwv2.WebSocketApi, fn: lambda_.Function) -> None:
    """execute-api:ManageConnections on this API's stage only, and the endpoint to call it at."""
    stage.grant_management_api_access(fn)
    fn.add_environment(ENDPOINT_VARIABLE, stage.callback_url)
    acknowledge(
        fn.role,  # type: ignore[arg-type]
        "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:"
        f"<{_logical_id(api)}>/{STAGE}/*/@connections/*]",
        "@connections ids are made per client connection at run time; the grant is scoped to this API's stage",
    )


def _logical_id(api: apigwv2.WebSocketApi) -> str:
    """The API's logical id, as cdk-nag prints its Ref in a finding."""
    return str(cdk.Stack.of(api).resolve(api.node.default_child.logical_id))  # type: ignore[union-attr]


def _authorizer(scope: Construct, fn: lambda_.Function, pool: cognito.UserPool) -> authorizers.WebSocketLambdaAuthorizer:
    issuer = f"https://cognito-idp.{cdk.Stack.of(scope).region}.amazonaws.com/{pool.user_pool_id}"
    fn.add_environment("TOKEN_ISSUER", issuer)
    fn.add_environment("JWKS_URL", f"{issuer}/.well-known/jwks.json")
    return authorizers.WebSocketLambdaAuthorizer("StreamAuthorizer", fn, identity_source=[])


def _stage(scope: Construct, api: apigwv2.WebSocketApi) -> apigwv2.WebSocketStage:
    access_logs = logs.LogGroup(
        scope, "StreamAccessLogs", retention=logs.RetentionDays.THREE_MONTHS, removal_policy=cdk.RemovalPolicy.RETAIN
    )
    stage = apigwv2.WebSocketStage(
        scope,
        "StreamStage",
        web_socket_api=api,
        stage_name=STAGE,
        auto_deploy=True,
        throttle=apigwv2.ThrottleSettings(rate_limit=THROTTLE_RATE, burst_limit=THROTTLE_BURST),
    )
    cfn: apigwv2.CfnStage = stage.node.default_child  # type: ignore[assignment]
    # No query string in the format: a token sent as ?token= must never reach a log.
    fields = {name: f"$context.{name}" for name in (
        "requestId", "connectionId", "eventType", "routeKey", "status", "requestTime", "integrationLatency",
        "error.message", "authorizer.principalId", "identity.sourceIp",
    )}
    cfn.access_log_settings = apigwv2.CfnStage.AccessLogSettingsProperty(
        destination_arn=access_logs.log_group_arn, format=json.dumps(fields)
    )
    cfn.default_route_settings = apigwv2.CfnStage.RouteSettingsProperty(
        logging_level="ERROR", data_trace_enabled=False,  # message bodies are never logged
        throttling_rate_limit=THROTTLE_RATE, throttling_burst_limit=THROTTLE_BURST,
    )
    return stage


def _route_id(route_key: str) -> str:
    return route_key.replace("$", "").capitalize()
