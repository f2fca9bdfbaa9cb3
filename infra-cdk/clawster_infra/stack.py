"""The Clawster stack: table, user pool, one Lambda per catalog function, their triggers, and the web console."""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from functions.catalog import Function, RestRoute, Schedule, StepFunctionsTask, WebSocketAuthorizer, WebSocketRoute

from .code_bundle import deps_layer_dir, staged_function_code
from .console import ConsoleSources, console_config, console_dist_dir, deploy_console, make_console_site
from .gateways import GatewayOptions, environment, make_gateway_infra, placement, reach_gateways
from .lambdas import RUNTIME, catalog_function
from .options import StackOptions
from .rest_api import CONSOLE_ORIGIN_VARIABLE, STAGE, add_routes, make_rest_api, rest_api_origin
from .schedules import make_schedule
from .storage import make_table
from .stream_api import accept_app_clients, make_stream_api, stream_api_origin
from .users import add_console_client, make_hosted_ui, make_user_pool
from .workflows import make_workflows


class TriggerNotDeployable(ValueError):
    """The catalog names a trigger kind this stack has no construct for.

    Synthesis refuses instead of deploying a function nothing can reach.
    """


class ClawsterStack(cdk.Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id_: str,
        *,
        functions: tuple[Function, ...],
        deps_layer: Path,
        console_dist: Path,
        **kwargs,
    ) -> None:
        super().__init__(scope, construct_id_, **kwargs)
        options = self.options = StackOptions.from_context(self)
        console_files = console_dist_dir(console_dist)  # refuses a missing build before anything is bundled
        self.table = make_table(self)
        self.user_pool, client = make_user_pool(self, threat_protection=options.threat_protection)
        self.hosted_ui = make_hosted_ui(self, self.user_pool)
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
        self.api = make_rest_api(self, tracing=options.tracing)
        self.stream_stage = make_stream_api(self, functions, self.functions, self.user_pool)
        console_client = self._console(functions, console_files)
        accept_app_clients(functions, self.functions, [client, console_client])
        self.workflows = make_workflows(self, functions, self.functions, tracing=options.tracing)
        for spec in functions:
            self._wire_other_triggers(spec)

        cdk.CfnOutput(self, "ApiUrl", value=self.api.url)
        cdk.CfnOutput(self, "UserPoolId", value=self.user_pool.user_pool_id)
        cdk.CfnOutput(self, "UserPoolClientId", value=client.user_pool_client_id)
        cdk.CfnOutput(self, "TableName", value=self.table.table_name)

    def _console(self, functions: tuple[Function, ...], dist: Path) -> cognito.UserPoolClient:
        """The console's site, its app client and files, and the REST routes with CORS for its origin.

        In this order: the site's CSP names the APIs by their ids; its origin is the app client's redirect and
        the API's CORS origin; config.json names the client."""
        api_origin = rest_api_origin(self.api)
        stream_origin = stream_api_origin(self.stream_stage) if self.stream_stage else None
        auth_origin = self.hosted_ui.base_url()
        site = make_console_site(self, ConsoleSources(api=api_origin, stream=stream_origin, auth=auth_origin))
        console_client = add_console_client(self.user_pool, site.url)
        config = console_config(api_url=f"{api_origin}/{STAGE}",
                                stream_url=f"{stream_origin}/{self.stream_stage.stage_name}" if self.stream_stage else "",
                                auth_origin=auth_origin, client_id=console_client.user_pool_client_id)
        deploy_console(self, site, dist, config)
        routes = [(self.functions[spec.name], route) for spec in functions for route in spec.rest_routes]
        add_routes(self, self.api, routes, self.user_pool, console_origin=site.origin)
        for spec in functions:
            if spec.rest_routes:  # the REST functions answer the console's calls with CORS headers
                self.functions[spec.name].add_environment(CONSOLE_ORIGIN_VARIABLE, site.origin)
        cdk.CfnOutput(self, "ConsoleUrl", value=site.url)
        cdk.CfnOutput(self, "ConsoleClientId", value=console_client.user_pool_client_id)
        cdk.CfnOutput(self, "HostedUiDomain", value=auth_origin)
        return console_client

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
