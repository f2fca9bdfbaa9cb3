"""build_app(): the CDK App holding the Clawster stack, with the cdk-nag AwsSolutions checks applied."""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from functions.catalog import FUNCTIONS, Function

from .code_bundle import DEPS_LAYER
from .console import CONSOLE_DIST
from .stack import ClawsterStack

STACK_NAME = "Clawster"
# CDK feature flags this app sets, over any value cdk.json or `-c` gives (post-CLI context): S3 server access logs
# are delivered under a bucket policy for the logging service, not the legacy LogDeliveryWrite ACL.
FEATURE_FLAGS = {"@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy": True}


def build_app(
    outdir: str,
    functions: tuple[Function, ...] = FUNCTIONS,
    *,
    deps_layer: Path = DEPS_LAYER,
    console_dist: Path = CONSOLE_DIST,
    context: dict | None = None,
) -> cdk.App:
    """The app to synthesize: the real catalog, layer and console build by default (tests pass variants).

    `context` adds to what the CDK CLI passes (`-c key=value`); clawster_infra.options lists the keys read.
    """
    app = cdk.App(outdir=outdir, context=context, post_cli_context=FEATURE_FLAGS)
    ClawsterStack(app, STACK_NAME, functions=functions, deps_layer=deps_layer, console_dist=console_dist,
                  description="Clawster control plane")
    # Any AwsSolutions finding not acknowledged (with a reason, next to its resource) fails synthesis.
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app, verbose=True, write_suppressions_to_cloud_formation=True))
    return app
