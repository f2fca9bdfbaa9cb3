"""The Clawster stack: table, user pool, one Lambda per catalog function, and their triggers."""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from functions.catalog import Function, RestRoute, Schedule, StepFunctionsTask, WebSocketAuthorizer, WebSocketRoute

from .code_bundle import deps_layer_dir, staged_function_code
from .gateways import GatewayOptions, environment, make_gateway_infra, placement, reach_gateways
from .lambdas import RUNTIME, catalog_function
from .options import StackOptions
from .rest_api import make_rest_api
from .schedules import make_schedule
from .storage import make_table
from .stream_api import make_stream_api
from .users import make_user_pool
from .workflows import make_workflows


class TriggerNotDeployable(ValueError):
    """The catalog names a trigger kind this stack has no construct for.

    Synthesis refuses instead of deploying a function nothing can reach.
    """


class ClawsterStack(cdk.Stack):
    def __init__(
        self, scope: Construct, construct_id_: str, *, functions: tuple[Function, ...], deps_layer: Path, **kwargs
    ) -> None:
        super().__init__(scope, construct_id_, **kwargs)
        options = self.options = StackOptions.from_context(self)
        self.table = make_table(self)
        self.user_pool, client = make_user_pool(self, threat_protection=options.threat_protection)
        layer = lambda_.LayerVersion(
            self,
            "DepsLayer",
            code=lambda_.Code.from_asset(str(deps_layer_dir(deps_layer))),  # refuses a missing or stale layer
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[lambda_.Architecture.ARM_64],
            description="Pinned runtime dependencies (requirements/runtime.txt)",
        )
        # The ECS target's network, cluster, file system and image repository (off: none of it, no VPC).
        self.gateways = make_gateway_infra(self, GatewayOptions.from_context(self)) if options.ecs_target else None
        with staged_function_code() as app_dir:
            code = lambda_.Code.from_asset(str(app_dir))
            self.functions = {
                spec.name: catalog_function(
                    self, spec, table=self.table, code=code, layer=layer, tracing=options.tracing,
                    placement=placement(self.gateways) if self.gateways and spec.gateway_access else None)
                for spec in functions
            }
        if self.gateways:
            for spec in functions:
                for key, value in environment(self.gateways).items():  # GET /targets and the settings read these
                    self.functions[spec.name].add_environment(key, value)
                if spec.gateway_access:
                    reach_gateways(self.functions[spec.name], spec.gateway_access, self.gateways)
        routes = [(self.functions[spec.name], route) for spec in functions for route in spec.rest_routes]
        self.api = make_rest_api(self, routes, self.user_pool, tracing=options.tracing)
        self.stream_stage = make_stream_api(self, functions, self.functions, self.user_pool, client)
        self.workflows = make_workflows(self, functions, self.functions, tracing=options.tracing)
        for spec in functions:
            self._wire_other_triggers(spec)

        cdk.CfnOutput(self, "ApiUrl", value=self.api.url)
        cdk.CfnOutput(self, "UserPoolId", value=self.user_pool.user_pool_id)
        cdk.CfnOutput(self, "UserPoolClientId", value=client.user_pool_client_id)
        cdk.CfnOutput(self, "TableName", value=self.table.table_name)

    def _wire_other_triggers(self, spec: Function) -> None:
        fn = self.functions[spec.name]
        for i, trigger in enumerate(spec.triggers):
            if isinstance(trigger, Schedule):
                # EventBridge Scheduler, a role per schedule; a context value may set the expression
                make_schedule(self, spec, i, self.options.schedule(spec, trigger), fn)
            elif isinstance(trigger, RestRoute | WebSocketRoute | WebSocketAuthorizer):
                pass  # the REST API (make_rest_api) and the stream API (make_stream_api) integrate these
            elif isinstance(trigger, StepFunctionsTask):
                pass  # make_workflows substitutes its ARN into the state machines and lets them invoke it
            else:
                raise TriggerNotDeployable(f"{spec.name}: the stack has no construct for trigger {trigger!r}")
